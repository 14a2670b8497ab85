package storage

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"a.txt", true},
		{"dir/sub/file name+plus#hash?q%20.txt", true},
		{"café/日本語/😀.png", true},
		{".hidden", true},
		{"a/...", true},
		{"..a/b..", true},
		{strings.Repeat("k", 1024), true},
		{strings.Repeat("k", 1025), false},
		{"", false},
		{"/abs", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"a/./b", false},
		{"a/../b", false},
		{"a/..", false},
		{"a\\b", false},
		{"x\x00y", false},
		{"tab\there", false},
		{"del\x7f", false},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := ValidKey(tt.key); got != tt.want {
				t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	err := CheckKey("memory", "save", "a/../b")
	var se *Error
	if !errors.Is(err, ErrInvalidKey) || !errors.As(err, &se) || se.Op != "save" {
		t.Fatalf("CheckKey = %v, want an *Error for save wrapping ErrInvalidKey", err)
	}
	if want := `memory: save "a/../b": invalid key`; err.Error() != want {
		t.Errorf("error text = %q, want %q", err.Error(), want)
	}
	if err := CheckKey("memory", "save", "a/b"); err != nil {
		t.Errorf("CheckKey of a valid key = %v", err)
	}
}

func TestCleanLocation(t *testing.T) {
	tests := []struct {
		loc, want string
		wantErr   bool
	}{
		{"", "", false},
		{"/", "", false},
		{"media", "media", false},
		{"/media/", "media", false},
		{"media//x/", "media/x", false},
		{"./media/./x", "media/x", false},
		{`media\x`, "media/x", false},
		{"media/../x", "", true},
		{"..", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			got, err := CleanLocation(tt.loc)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("CleanLocation(%q) = %q, %v; want %q, error %v",
					tt.loc, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("error %v is not ErrInvalidKey", err)
			}
			if err == nil {
				if j := JoinLocation(got, "k.txt"); j != strings.TrimPrefix(got+"/k.txt", "/") {
					t.Errorf("JoinLocation(%q, k.txt) = %q", got, j)
				}
			}
		})
	}
}

func TestSplitExt(t *testing.T) {
	tests := []struct {
		key, stem, ext string
	}{
		{"a/archive.tar.gz", "a/archive", ".tar.gz"},
		{"report.pdf", "report", ".pdf"},
		{"noext", "noext", ""},
		{".hidden", ".hidden", ""},
		{".hidden.txt", ".hidden", ".txt"},
		{"..x.y", "..x", ".y"},
		{"dir.d/file", "dir.d/file", ""},
		{"dir.d/file.", "dir.d/file", "."},
		{"a/...", "a/...", ""},
		{"", "", ""},
		{"日本/ファイル.テキスト", "日本/ファイル", ".テキスト"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			stem, ext := SplitExt(tt.key)
			if stem != tt.stem || ext != tt.ext {
				t.Errorf("SplitExt(%q) = %q, %q; want %q, %q", tt.key, stem, ext, tt.stem, tt.ext)
			}
		})
	}
}

func TestTruncateKey(t *testing.T) {
	tests := []struct {
		key    string
		max    int
		want   string
		wantOK bool
	}{
		{"dir/abcdef.txt", 0, "dir/abcdef.txt", true},
		{"dir/abcdef.txt", 14, "dir/abcdef.txt", true},
		{"dir/abcdef.txt", 12, "dir/abcd.txt", true},
		{"dir/abcdef.tar.gz", 13, "dir/ab.tar.gz", true},
		{"dir/abcdef.txt", 9, "dir/a.txt", true},
		{"dir/abcdef.txt", 8, "", false},
		// "é" is 2 bytes: a cut inside it moves back to its start.
		{"éééé.txt", 9, "éé.txt", true},
		{"éééé.txt", 7, "é.txt", true},
		{"éééé.txt", 6, "é.txt", true},
		{"éééé.txt", 5, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := TruncateKey(tt.key, tt.max)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("TruncateKey(%q, %d) = %q, %v; want %q, %v",
					tt.key, tt.max, got, ok, tt.want, tt.wantOK)
			}
			if ok && (tt.max > 0 && len(got) > tt.max || !utf8.ValidString(got)) {
				t.Errorf("TruncateKey(%q, %d) = %q: too long or not UTF-8", tt.key, tt.max, got)
			}
		})
	}
}

func TestAlternativeName(t *testing.T) {
	tests := []struct {
		key     string
		max     int
		pattern string
	}{
		{"a/report.bin", 0, `^a/report_[A-Za-z0-9]{7}\.bin$`},
		{"archive.tar.gz", 0, `^archive_[A-Za-z0-9]{7}\.tar\.gz$`},
		{"noext", 0, `^noext_[A-Za-z0-9]{7}$`},
		{".profile", 0, `^\.profile_[A-Za-z0-9]{7}$`},
		{"a/...", 12, `^a/\.\._[A-Za-z0-9]{7}$`},
		{"uploads/a-rather-long-name.txt", 30, `^uploads/a-rather-l_[A-Za-z0-9]{7}\.txt$`},
		{"uploads/a-rather-long-name.txt", 21, `^uploads/a_[A-Za-z0-9]{7}\.txt$`},
		{"日本語のファイル.txt", 26, `^日本語の_[A-Za-z0-9]{7}\.txt$`},
		{"日本語のファイル.txt", 25, `^日本語の_[A-Za-z0-9]{7}\.txt$`},
		{"日本語のファイル.txt", 23, `^日本語_[A-Za-z0-9]{7}\.txt$`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			re := regexp.MustCompile(tt.pattern)
			seen := map[string]bool{}
			for range 50 {
				got, err := AlternativeName(tt.key, tt.max)
				if err != nil {
					t.Fatalf("AlternativeName(%q, %d): %v", tt.key, tt.max, err)
				}
				if !re.MatchString(got) {
					t.Fatalf("AlternativeName(%q, %d) = %q, want a match of %s",
						tt.key, tt.max, got, tt.pattern)
				}
				if tt.max > 0 && len(got) > tt.max || !utf8.ValidString(got) || !ValidKey(got) {
					t.Fatalf("AlternativeName(%q, %d) = %q (%d bytes): too long or invalid",
						tt.key, tt.max, got, len(got))
				}
				seen[got] = true
			}
			if len(seen) < 45 {
				t.Errorf("50 alternative names of %q hold only %d different ones", tt.key, len(seen))
			}
		})
	}

	for _, tt := range []struct {
		key string
		max int
	}{
		{"uploads/x.txt", 13},
		{"uploads/x.txt", 20},
		{"a.very-long-extension", 20},
		{"éé.txt", 13},
	} {
		if got, err := AlternativeName(tt.key, tt.max); err == nil {
			t.Errorf("AlternativeName(%q, %d) = %q, want an error: no name fits",
				tt.key, tt.max, got)
		}
	}

	// Every bound from the smallest that fits up to the key's own length.
	const key = "dir/naïve-日本-😀-file.tar.gz"
	for max := len("dir/x_1234567.tar.gz"); max <= len(key)+8; max++ {
		got, err := AlternativeName(key, max)
		if err != nil {
			t.Fatalf("AlternativeName(%q, %d): %v", key, max, err)
		}
		if len(got) > max || !utf8.ValidString(got) || !strings.HasPrefix(got, "dir/n") {
			t.Errorf("AlternativeName(%q, %d) = %q (%d bytes)", key, max, got, len(got))
		}
	}
}
