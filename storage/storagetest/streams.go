package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/gormfile/gormfile/storage"
)

func testLarge(t *testing.T, h Harness) {
	s := h.New(t, false)
	size := h.LargeSize
	tests := []struct {
		name string
		seed uint64
		// reader returns the content stream; the pipe's writer stops when the test ends.
		reader func(t *testing.T) io.Reader
		opts   *storage.SaveOptions
	}{
		{
			name:   "reader with size",
			seed:   1,
			reader: func(*testing.T) io.Reader { return onlyReader{newPRNG(1, size)} },
			opts:   &storage.SaveOptions{Size: size},
		},
		{
			name: "pipe",
			seed: 2,
			reader: func(t *testing.T) io.Reader {
				pr, pw := io.Pipe()
				go func() {
					_, err := io.CopyBuffer(pw, newPRNG(2, size), make([]byte, 50_000))
					pw.CloseWithError(err)
				}()
				t.Cleanup(func() { pr.Close() })
				return pr
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "large/" + tt.name + ".bin"
			got, err := s.Save(t.Context(), key, tt.reader(t), tt.opts)
			if err != nil || got != key {
				t.Fatalf("Save = %q, %v; want %q, nil", got, err, key)
			}
			a, err := s.Stat(t.Context(), key)
			if err != nil || a.Size != size {
				t.Fatalf("Stat = %+v, %v; want size %d", a, err, size)
			}

			want := prngSum(tt.seed, size)
			rc, err := s.Open(t.Context(), key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			hash := sha256.New()
			n, err := io.Copy(hash, rc)
			rc.Close()
			if err != nil || n != size {
				t.Fatalf("Open: read %d bytes, %v; want %d", n, err, size)
			}
			if [sha256.Size]byte(hash.Sum(nil)) != want {
				t.Errorf("Open: content differs from what was saved (SHA-256)")
			}

			off := size/2 - 777
			rc, err = s.OpenRange(t.Context(), key, off, 4096)
			if err != nil {
				t.Fatalf("OpenRange: %v", err)
			}
			part, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(part, prngBytes(tt.seed, size, off, 4096)) {
				t.Errorf("OpenRange(%d, 4096) = %d bytes, %v; content differs", off, len(part), err)
			}
		})
	}
	t.Run("Fetch", func(t *testing.T) {
		u, err := s.URL(t.Context(), "large/pipe.bin", nil)
		if err != nil {
			t.Fatalf("URL: %v", err)
		}
		body, err := h.Fetch(t, u)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if sha256.Sum256(body) != prngSum(2, size) {
			t.Errorf("Fetch: %d bytes, content differs from what was saved", len(body))
		}
	})
}

var errBoom = errors.New("storagetest: reader failed on purpose")

func testFailingReader(t *testing.T, h Harness) {
	tests := []struct {
		name      string
		overwrite bool
		after     int64
	}{
		{"early", false, 1000},
		{"early, overwrite", true, 1000},
		{"half of large", false, h.LargeSize / 2},
		{"half of large, overwrite", true, h.LargeSize / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.New(t, tt.overwrite)
			const key = "fail/obj.bin"
			r := &failingReader{r: newPRNG(3, h.LargeSize), n: tt.after, err: errBoom}
			got, err := s.Save(t.Context(), key, r, nil)
			if !errors.Is(err, errBoom) {
				t.Fatalf("Save = %q, %v; want the reader's error", got, err)
			}
			checkError(t, err, "save", key)
			checkMissing(t, s, key)
			if keys := listKeys(t, s, ""); len(keys) != 0 {
				t.Errorf("failed Save left objects: %q", keys)
			}
		})
	}
	t.Run("keeps the old object", func(t *testing.T) {
		s := h.New(t, true)
		const key = "fail/kept.txt"
		old := []byte("the old content")
		mustSave(t, s, key, old, nil)
		r := &failingReader{r: newPRNG(4, 1<<20), n: 100_000, err: errBoom}
		_, err := s.Save(t.Context(), key, r, &storage.SaveOptions{Overwrite: true})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Save error = %v, want the reader's error", err)
		}
		checkContent(t, s, key, old)
		if keys := listKeys(t, s, ""); len(keys) != 1 {
			t.Errorf("List = %q, want only %q", keys, key)
		}
	})
}

func testContextCanceled(t *testing.T, h Harness) {
	for _, overwrite := range []bool{false, true} {
		name := map[bool]string{false: "no overwrite", true: "overwrite"}[overwrite]
		t.Run(name, func(t *testing.T) {
			s := h.New(t, overwrite)
			const key = "ctx/canceled.txt"
			got, err := s.Save(canceledContext(t), key, bytes.NewReader(content("c", 2000)), nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Save = %q, %v; want context.Canceled", got, err)
			}
			checkMissing(t, s, key)
			if keys := listKeys(t, s, ""); len(keys) != 0 {
				t.Errorf("canceled Save left objects: %q", keys)
			}
		})
	}
}
