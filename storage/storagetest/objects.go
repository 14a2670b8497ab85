package storagetest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
)

func testSaveOpenStat(t *testing.T, h Harness) {
	s := h.New(t, false)
	objects := []struct {
		key  string
		data []byte
	}{
		{"a.txt", []byte("hello, storage\n")},
		{"dir/b.bin", content("b", 5000)},
		{"dir/sub/c.json", []byte(`{"c": true}`)},
		{"noext", []byte{0, 1, 2, 0xff}},
	}
	for _, o := range objects {
		t.Run(o.key, func(t *testing.T) {
			if got := mustSave(t, s, o.key, o.data, nil); got != o.key {
				t.Fatalf("Save(%q) = %q, want the same key", o.key, got)
			}
			checkContent(t, s, o.key, o.data)
			checkExists(t, s, o.key, true)

			a, err := s.Stat(t.Context(), o.key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", o.key, err)
			}
			if a.Key != o.key {
				t.Errorf("Stat(%q).Key = %q, want %q", o.key, a.Key, o.key)
			}
			if a.Size != int64(len(o.data)) {
				t.Errorf("Stat(%q).Size = %d, want %d", o.key, a.Size, len(o.data))
			}
			if a.ModTime.IsZero() {
				t.Errorf("Stat(%q).ModTime is zero", o.key)
			}
		})
	}
	t.Run("List", func(t *testing.T) {
		var want []string
		for _, o := range objects {
			want = append(want, o.key)
		}
		if got := listKeys(t, s, ""); !slices.Equal(got, sortedCopy(want)) {
			t.Errorf("List(\"\") = %q, want %q", got, sortedCopy(want))
		}
	})
}

func testContentType(t *testing.T, h Harness) {
	s := h.New(t, false)
	tests := []struct {
		key, given string
	}{
		{key: "notes.txt"},
		{key: "img/pic.png"},
		{key: "page.html"},
		{key: "noext"},
		{key: "data.bin", given: "application/x-custom"},
		{key: "report.json", given: "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			mustSave(t, s, tt.key, []byte("x"), &storage.SaveOptions{ContentType: tt.given})
			a, err := s.Stat(t.Context(), tt.key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			byName := storage.ContentTypeByName(tt.key)
			switch {
			case tt.given == "" && a.ContentType != byName:
				t.Errorf("ContentType = %q, want %q", a.ContentType, byName)
			case tt.given != "" && a.ContentType != tt.given && a.ContentType != byName:
				// A backend that keeps no metadata (the filesystem) may only know the
				// type by name; any other answer is wrong.
				t.Errorf("ContentType = %q, want %q (given) or %q (by name)",
					a.ContentType, tt.given, byName)
			}
		})
	}
}

func testDelete(t *testing.T, h Harness) {
	s := h.New(t, false)
	mustSave(t, s, "del/gone.txt", []byte("gone"), nil)
	mustSave(t, s, "del/kept.txt", []byte("kept"), nil)

	if err := s.Delete(t.Context(), "del/gone.txt"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkMissing(t, s, "del/gone.txt")
	if _, err := s.Open(t.Context(), "del/gone.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Delete: error = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(t.Context(), "del/gone.txt"); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	checkContent(t, s, "del/kept.txt", []byte("kept"))
	if got, want := listKeys(t, s, ""), []string{"del/kept.txt"}; !slices.Equal(got, want) {
		t.Errorf("List after Delete = %q, want %q", got, want)
	}

	// A deleted key is free again: saving it does not pick another name.
	if got := mustSave(t, s, "del/gone.txt", []byte("back"), nil); got != "del/gone.txt" {
		t.Errorf("Save after Delete = %q, want the same key", got)
	}
	checkContent(t, s, "del/gone.txt", []byte("back"))
}

func testMissing(t *testing.T, h Harness) {
	s := h.New(t, false)
	mustSave(t, s, "present.txt", []byte("here"), nil)
	for _, key := range []string{"missing.txt", "no/such/dir/file.txt", "present.txt.bak"} {
		t.Run(key, func(t *testing.T) {
			ctx := t.Context()
			_, err := s.Open(ctx, key)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open error = %v, want fs.ErrNotExist", err)
			}
			checkError(t, err, "open", key)

			_, err = s.OpenRange(ctx, key, 1, 2)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("OpenRange error = %v, want fs.ErrNotExist", err)
			}
			checkError(t, err, "open", key)

			_, err = s.Stat(ctx, key)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat error = %v, want fs.ErrNotExist", err)
			}
			checkError(t, err, "stat", key)

			ok, err := storage.Exists(ctx, s, key)
			if ok || err != nil {
				t.Errorf("Exists = %v, %v; want false, nil", ok, err)
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Errorf("Delete of a missing key: %v, want nil", err)
			}
		})
	}
}

func testDirectoryIsNotAnObject(t *testing.T, h Harness) {
	s := h.New(t, false)
	mustSave(t, s, "top/mid/leaf.txt", []byte("leaf"), nil)
	for _, key := range []string{"top", "top/mid"} {
		t.Run(key, func(t *testing.T) {
			checkMissing(t, s, key)
			if _, err := s.Open(t.Context(), key); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open error = %v, want fs.ErrNotExist", err)
			}
			if err := s.Delete(t.Context(), key); err != nil {
				t.Errorf("Delete: %v, want nil", err)
			}
			checkContent(t, s, "top/mid/leaf.txt", []byte("leaf"))
		})
	}
}

// awkwardKeys are valid keys that need escaping in URLs or care on disks.
var awkwardKeys = []string{
	"with space/file name.txt",
	"plus+sign.txt",
	"quote's.txt",
	`double"quote.txt`,
	"hash#tag.txt",
	"question?mark.txt",
	"percent%.txt",
	"percent%20encoded.txt",
	"semi;colon,comma=eq&amp@at!bang$(paren)*star~tilde:colon.txt",
	"café/résumé é.txt",
	"日本語/ファイル 名.txt",
	"emoji 😀/🎉.png",
	".hidden/.dotfile",
	"deep/nested/dirs/go/down/here.bin",
}

func testKeys(t *testing.T, h Harness) {
	s := h.New(t, false)
	for i, key := range awkwardKeys {
		t.Run(key, func(t *testing.T) {
			data := content(strconv.Itoa(i)+key, 100+i)
			if got := mustSave(t, s, key, data, nil); got != key {
				t.Fatalf("Save(%q) = %q, want the same key", key, got)
			}
			checkContent(t, s, key, data)

			a, err := s.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if a.Key != key || a.Size != int64(len(data)) {
				t.Errorf("Stat = {Key %q, Size %d}, want {%q, %d}", a.Key, a.Size, key, len(data))
			}

			u, err := s.URL(t.Context(), key, nil)
			if err != nil {
				t.Fatalf("URL: %v", err)
			}
			checkURLNamesKey(t, u, key)
			body, err := h.Fetch(t, u)
			if err != nil {
				t.Fatalf("Fetch(%q): %v", u, err)
			}
			if !bytes.Equal(body, data) {
				t.Errorf("Fetch(%q) = %.40q, want %.40q", u, body, data)
			}
		})
	}
	t.Run("List", func(t *testing.T) {
		if got, want := listKeys(t, s, ""), sortedCopy(awkwardKeys); !slices.Equal(got, want) {
			t.Errorf("List(\"\") =\n%q\nwant\n%q", got, want)
		}
	})
}

// checkURLNamesKey asserts that u parses and that its decoded path ends with the key:
// every character of the key that means something in a URL was escaped.
func checkURLNamesKey(t *testing.T, u, key string) {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("URL %q does not parse: %v", u, err)
	}
	if p.Fragment != "" || !strings.HasSuffix(p.Path, "/"+key) {
		t.Errorf("URL %q: path %q, fragment %q; want a path ending in /%s and no fragment",
			u, p.Path, p.Fragment, key)
	}
}

var invalidKeys = []string{
	"", "/abs", "a/../b", "a//b", "a/./b", "..", ".", "a/", "a\\b", "x\x00y", "new\nline",
}

func testInvalidKeys(t *testing.T, h Harness) {
	s := h.New(t, false)
	for _, key := range invalidKeys {
		t.Run(strconv.Quote(key), func(t *testing.T) {
			ctx := t.Context()
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("%s: error = %v, want storage.ErrInvalidKey", op, err)
					return
				}
				checkError(t, err, op, "")
			}
			_, err := s.Save(ctx, key, strings.NewReader("data"), nil)
			check("save", err)
			_, err = s.Save(ctx, key, strings.NewReader("data"),
				&storage.SaveOptions{Overwrite: true})
			check("save", err)
			_, err = s.Open(ctx, key)
			check("open", err)
			_, err = s.OpenRange(ctx, key, 0, 1)
			check("open", err)
			_, err = s.Stat(ctx, key)
			check("stat", err)
			check("delete", s.Delete(ctx, key))
			_, err = s.URL(ctx, key, nil)
			check("url", err)
			ok, err := storage.Exists(ctx, s, key)
			if ok || !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Exists = %v, %v; want false, storage.ErrInvalidKey", ok, err)
			}
		})
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("invalid keys wrote objects: %q", got)
	}
}

func testEmpty(t *testing.T, h Harness) {
	s := h.New(t, false)
	readers := []struct {
		key string
		r   io.Reader
	}{
		{"empty/bytes.txt", bytes.NewReader(nil)},
		{"empty/stream.bin", onlyReader{strings.NewReader("")}},
	}
	for _, tt := range readers {
		t.Run(tt.key, func(t *testing.T) {
			got, err := s.Save(t.Context(), tt.key, tt.r, nil)
			if err != nil || got != tt.key {
				t.Fatalf("Save = %q, %v; want %q, nil", got, err, tt.key)
			}
			a, err := s.Stat(t.Context(), tt.key)
			if err != nil || a.Size != 0 {
				t.Fatalf("Stat = %+v, %v; want size 0", a, err)
			}
			checkContent(t, s, tt.key, nil)
			u, err := s.URL(t.Context(), tt.key, nil)
			if err != nil {
				t.Fatalf("URL: %v", err)
			}
			body, err := h.Fetch(t, u)
			if err != nil || len(body) != 0 {
				t.Errorf("Fetch = %q, %v; want empty body", body, err)
			}
		})
	}
	for _, a := range listAll(t, s, "empty/") {
		if a.Size != 0 {
			t.Errorf("List: %s has size %d, want 0", a.Key, a.Size)
		}
	}
	if n := len(listAll(t, s, "empty/")); n != len(readers) {
		t.Errorf("List(\"empty/\") gave %d objects, want %d", n, len(readers))
	}
}

func testURL(t *testing.T, h Harness) {
	s := h.New(t, false)
	const key = "url/plain.txt"
	data := []byte("fetch me")
	mustSave(t, s, key, data, nil)
	u, err := s.URL(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("URL: %v", err)
	}
	checkURLNamesKey(t, u, key)
	body, err := h.Fetch(t, u)
	if err != nil || !bytes.Equal(body, data) {
		t.Fatalf("Fetch(%q) = %q, %v; want %q", u, body, err, data)
	}

	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if body, err := h.Fetch(t, u); err == nil {
		t.Errorf("Fetch of a deleted object's URL = %q, want an error", body)
	}
}
