package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/gormfile/gormfile/storage"
)

// altPattern matches the alternative names of key: its stem, "_", 7 letters or
// digits, its extensions.
func altPattern(key string) *regexp.Regexp {
	stem, ext := storage.SplitExt(key)
	return regexp.MustCompile("^" + regexp.QuoteMeta(stem) + "_[A-Za-z0-9]{7}" +
		regexp.QuoteMeta(ext) + "$")
}

func testNoOverwrite(t *testing.T, h Harness) {
	for _, key := range []string{"docs/report.txt", "archive.tar.gz", "noext", ".profile"} {
		t.Run(key, func(t *testing.T) {
			s := h.New(t, false)
			first := content("first"+key, 300)
			mustSave(t, s, key, first, nil)

			pattern := altPattern(key)
			seen := map[string][]byte{key: first}
			for i := range 3 {
				data := content(fmt.Sprint("again", i, key), 200+i)
				// A reader that cannot seek: the backend must not need to read the input
				// twice to store it under another name.
				got, err := s.Save(t.Context(), key, onlyReader{bytes.NewReader(data)}, nil)
				if err != nil {
					t.Fatalf("Save #%d: %v", i+2, err)
				}
				if !pattern.MatchString(got) {
					t.Errorf("Save #%d of a taken key = %q, want a match of %s", i+2, got, pattern)
				}
				if _, dup := seen[got]; dup {
					t.Fatalf("Save #%d returned the taken key %q", i+2, got)
				}
				seen[got] = data
			}
			for k, data := range seen {
				checkContent(t, s, k, data)
			}
			if n := len(listKeys(t, s, "")); n != len(seen) {
				t.Errorf("List gave %d objects, want %d", n, len(seen))
			}
		})
	}
}

func testSaveOptionsOverwrite(t *testing.T, h Harness) {
	s := h.New(t, false)
	const key = "over/opt.txt"
	mustSave(t, s, key, []byte("old content"), nil)
	newer := []byte("new")
	got := mustSave(t, s, key, newer, &storage.SaveOptions{Overwrite: true})
	if got != key {
		t.Errorf("Save with Overwrite = %q, want %q", got, key)
	}
	checkContent(t, s, key, newer)
	if a, err := s.Stat(t.Context(), key); err != nil || a.Size != int64(len(newer)) {
		t.Errorf("Stat = %+v, %v; want size %d", a, err, len(newer))
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{key}) {
		t.Errorf("List = %q, want [%q]", keys, key)
	}
	// The storage's own setting still holds for the next Save.
	if got := mustSave(t, s, key, []byte("third"), nil); got == key {
		t.Errorf("Save without Overwrite replaced %q", key)
	}
}

func testStorageOverwrite(t *testing.T, h Harness) {
	s := h.New(t, true)
	const key = "over/storage.bin"
	for i, data := range [][]byte{content("one", 5000), content("two", 10), nil, []byte("four")} {
		got, err := s.Save(t.Context(), key, onlyReader{bytes.NewReader(data)}, nil)
		if err != nil || got != key {
			t.Fatalf("Save #%d = %q, %v; want %q, nil", i+1, got, err, key)
		}
		checkContent(t, s, key, data)
		if a, err := s.Stat(t.Context(), key); err != nil || a.Size != int64(len(data)) {
			t.Errorf("Save #%d: Stat = %+v, %v; want size %d", i+1, a, err, len(data))
		}
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{key}) {
		t.Errorf("List = %q, want [%q]", keys, key)
	}
}

func testMaxKeyLength(t *testing.T, h Harness) {
	tests := []struct {
		key string
		max int
	}{
		{"uploads/a-rather-long-file-name.txt", len("uploads/a-rather-long-file-name.txt")},
		{"uploads/a-rather-long-file-name.txt", 30},
		// Nine 3-byte characters: the cut falls inside a character.
		{"uploads/日本語のファイル名.txt", len("uploads/日本語のファイル名.txt")},
		{"uploads/ééééééééé.tar.gz", 26},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.key, "/", tt.max), func(t *testing.T) {
			s := h.New(t, false)
			mustSave(t, s, tt.key, []byte("first"), nil)
			opts := &storage.SaveOptions{MaxKeyLength: tt.max}
			got := mustSave(t, s, tt.key, []byte("second"), opts)
			if got == tt.key || len(got) > tt.max || !utf8.ValidString(got) {
				t.Fatalf("Save = %q (%d bytes), want another valid UTF-8 key of at most %d",
					got, len(got), tt.max)
			}
			stem, ext := storage.SplitExt(tt.key)
			dir := stem[:strings.LastIndexByte(stem, '/')+1]
			alt := regexp.MustCompile("^" + regexp.QuoteMeta(dir) + "[^/]+_[A-Za-z0-9]{7}" +
				regexp.QuoteMeta(ext) + "$")
			if !alt.MatchString(got) || !strings.HasPrefix(tt.key, got[:len(got)-8-len(ext)]) {
				t.Errorf("Save = %q, want a cut stem of %q, then _ and 7 characters", got, tt.key)
			}
			checkContent(t, s, tt.key, []byte("first"))
			checkContent(t, s, got, []byte("second"))
		})
	}
	t.Run("no name fits", func(t *testing.T) {
		s := h.New(t, false)
		const key = "uploads/x.txt"
		mustSave(t, s, key, []byte("first"), nil)
		opts := &storage.SaveOptions{MaxKeyLength: len(key)}
		got, err := s.Save(t.Context(), key, strings.NewReader("second"), opts)
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("Save = %q, %v; want an error satisfying fs.ErrExist", got, err)
		}
		checkContent(t, s, key, []byte("first"))
		if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{key}) {
			t.Errorf("List = %q, want [%q]", keys, key)
		}
	})
}

// saveConcurrently saves n different contents under key at once and returns the keys
// Save gave back and the contents, by writer.
func saveConcurrently(t *testing.T, s storage.Storage, key string, n int) ([]string, [][]byte) {
	t.Helper()
	keys := make([]string, n)
	errs := make([]error, n)
	data := make([][]byte, n)
	for i := range data {
		data[i] = content(fmt.Sprint("writer", i), 20_000+i*1000)
	}
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			keys[i], errs[i] = s.Save(t.Context(), key, onlyReader{bytes.NewReader(data[i])}, nil)
		})
	}
	start.Done()
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: Save: %v", i, err)
		}
	}
	return keys, data
}

func testConcurrentNoOverwrite(t *testing.T, h Harness) {
	s := h.New(t, false)
	const key = "race/same.bin"
	const n = 16
	keys, data := saveConcurrently(t, s, key, n)
	pattern := altPattern(key)
	seen := map[string]int{}
	for i, k := range keys {
		if k != key && !pattern.MatchString(k) {
			t.Errorf("writer %d: key %q is neither %q nor an alternative name", i, k, key)
		}
		if j, dup := seen[k]; dup {
			t.Errorf("writers %d and %d both got key %q", j, i, k)
		}
		seen[k] = i
	}
	if !slices.Contains(keys, key) {
		t.Errorf("no writer got the free key %q: %q", key, keys)
	}
	for i, k := range keys {
		checkContent(t, s, k, data[i])
	}
	if got := listKeys(t, s, "race/"); !slices.Equal(got, sortedCopy(keys)) {
		t.Errorf("List = %q, want %q", got, sortedCopy(keys))
	}
}

func testConcurrentOverwrite(t *testing.T, h Harness) {
	s := h.New(t, true)
	const key = "race/over.bin"
	keys, data := saveConcurrently(t, s, key, 8)
	for i, k := range keys {
		if k != key {
			t.Errorf("writer %d: key %q, want %q", i, k, key)
		}
	}
	got := mustRead(t, s, key)
	if !slices.ContainsFunc(data, func(d []byte) bool { return bytes.Equal(d, got) }) {
		t.Errorf("content (%d bytes, %.30q...) is no writer's whole content", len(got), got)
	}
	if a, err := s.Stat(t.Context(), key); err != nil || a.Size != int64(len(got)) {
		t.Errorf("Stat = %+v, %v; want size %d", a, err, len(got))
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{key}) {
		t.Errorf("List = %q, want [%q]", keys, key)
	}
}
