package field

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gormfile/gormfile/storage"
)

func TestExpandUploadTo(t *testing.T) {
	at := time.Date(2024, time.February, 9, 7, 5, 3, 0, time.UTC)
	tests := []struct {
		pattern, want string
	}{
		{"", ""},
		{"uploads/", "uploads/"},
		{"uploads/%Y/%m/%d/", "uploads/2024/02/09/"},
		{"%Y-%m-%d_%H%M%S", "2024-02-09_070503"},
		{"%y/%j/%B/%b", "24/040/February/Feb"},
		{"100%%/x", "100%/x"},
		{"%q%Z%", "%q%Z%"}, // unknown patterns and a trailing "%" are kept
		{"%%Y", "%Y"},
		{"%%%Y", "%2024"},
		{"données/%Y", "données/2024"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			if got := ExpandUploadTo(tt.pattern, at); got != tt.want {
				t.Errorf("ExpandUploadTo(%q) = %q, want %q", tt.pattern, got, tt.want)
			}
		})
	}

	t.Run("padding", func(t *testing.T) {
		early := time.Date(7, time.December, 31, 23, 59, 58, 0, time.UTC)
		want := "0007/07/12/31/23/59/58/365"
		if got := ExpandUploadTo("%Y/%y/%m/%d/%H/%M/%S/%j", early); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestJoinUploadTo(t *testing.T) {
	tests := []struct {
		dir, name string
		want      string // "" when refused
	}{
		{"uploads/", "a.bin", "uploads/a.bin"},
		{"uploads", "a.bin", "uploads/a.bin"},
		{"", "a.bin", "a.bin"},
		{"/", "a.bin", "a.bin"},
		{"/uploads//2024///01/", "a.bin", "uploads/2024/01/a.bin"},
		{`uploads\2024\01\`, "a.bin", "uploads/2024/01/a.bin"},
		{"./uploads/./x/.", "a.bin", "uploads/x/a.bin"},
		{"uploads/", ".hidden", "uploads/.hidden"},
		{"photos/été/", "日本語.png", "photos/été/日本語.png"},
		{"../uploads/", "a.bin", ""},
		{"uploads/../../etc", "a.bin", ""},
		{`uploads\..\x`, "a.bin", ""},
		{"uploads/", "", ""},
		{"uploads/", ".", ""},
		{"uploads/", "..", ""},
		{"uploads/", "x/a.bin", ""},
		{"uploads/", `x\a.bin`, ""},
		{"uploads/", "a\x00.bin", ""},
		{"up\nloads/", "a.bin", ""},
		{"up\x7floads/", "a.bin", ""},
		{"uploads/", "a\xff.bin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"+"+tt.name, func(t *testing.T) {
			got, err := JoinUploadTo(tt.dir, tt.name)
			if tt.want == "" {
				if !errors.Is(err, storage.ErrInvalidKey) {
					t.Fatalf("JoinUploadTo(%q, %q) = %q, %v; want ErrInvalidKey",
						tt.dir, tt.name, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("JoinUploadTo(%q, %q) = %q, %v; want %q", tt.dir, tt.name, got, err,
					tt.want)
			}
			if strings.HasPrefix(got, "/") || strings.Contains(got, "//") ||
				strings.Contains(got, "..") || !storage.ValidKey(got) {
				t.Errorf("key %q is not a clean storage key", got)
			}
		})
	}
}

// TestUploadToPipeline runs client names and upload-to patterns through the three steps
// a new file's key takes, and checks that every key it makes is a valid storage key.
func TestUploadToPipeline(t *testing.T) {
	at := time.Date(2024, time.February, 9, 7, 5, 3, 0, time.UTC)
	patterns := []string{"", "/", "uploads/%Y/%m/%d/", `media\%Y\`, "./a//b/./c/", "%q/%%/"}
	names := []string{"report.bin", "../../etc/passwd", `C:\x\..\y.txt`, " a b .txt", ".hidden"}
	for _, p := range patterns {
		for _, n := range names {
			t.Run(p+"+"+n, func(t *testing.T) {
				name, err := ValidName(n)
				if err != nil {
					t.Fatal(err)
				}
				key, err := JoinUploadTo(ExpandUploadTo(p, at), name)
				if err != nil {
					t.Fatal(err)
				}
				if !storage.ValidKey(key) || strings.Contains(key, "..") {
					t.Errorf("key %q is not a clean storage key", key)
				}
			})
		}
	}
}

func ExampleJoinUploadTo() {
	at := time.Date(2024, time.February, 9, 7, 5, 3, 0, time.UTC)
	key, err := JoinUploadTo(ExpandUploadTo("/uploads/%Y/%m/", at), "a.bin")
	fmt.Println(key, err)
	// Output: uploads/2024/02/a.bin <nil>
}
