package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/memstore"
	"github.com/gormfile/gormfile/storage/storagetest"
)

// newServed returns a storage whose URLs point at a test server that serves it.
func newServed(t *testing.T, overwrite bool) *memstore.Storage {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String() + "/media/"
	s := memstore.New(&memstore.Options{BaseURL: base, Overwrite: overwrite})
	srv.Config.Handler = http.StripPrefix("/media/", s.Handler())
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		New: func(t *testing.T, overwrite bool) storage.Storage {
			return newServed(t, overwrite)
		},
		Fetch: storagetest.HTTPFetch,
	})
}

func TestLen(t *testing.T) {
	s := memstore.New(nil)
	ctx := t.Context()
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"empty", func() error { return nil }, 0},
		{"save", func() error {
			_, err := s.Save(ctx, "a.txt", strings.NewReader("a"), nil)
			return err
		}, 1},
		{"save taken key", func() error {
			_, err := s.Save(ctx, "a.txt", strings.NewReader("b"), nil)
			return err
		}, 2},
		{"overwrite", func() error {
			_, err := s.Save(ctx, "a.txt", strings.NewReader("c"),
				&storage.SaveOptions{Overwrite: true})
			return err
		}, 2},
		{"delete", func() error { return s.Delete(ctx, "a.txt") }, 1},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Len(); got != st.want {
			t.Errorf("after %s: Len() = %d, want %d", st.name, got, st.want)
		}
	}
}

func TestMetadataKept(t *testing.T) {
	s := memstore.New(nil)
	meta := map[string]string{"owner": "alice"}
	opts := &storage.SaveOptions{ContentType: "application/x-custom", Metadata: meta}
	if _, err := s.Save(t.Context(), "m.bin", strings.NewReader("m"), opts); err != nil {
		t.Fatal(err)
	}
	meta["owner"] = "changed by the caller"
	a, err := s.Stat(t.Context(), "m.bin")
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentType != "application/x-custom" || a.Metadata["owner"] != "alice" {
		t.Errorf("Stat = %+v, want the content type and metadata given to Save", a)
	}
}

// cancelingReader cancels its context after handing out its first chunk.
type cancelingReader struct {
	cancel context.CancelFunc
	n      int
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	c.n++
	if c.n == 2 {
		c.cancel()
	}
	return copy(p, bytes.Repeat([]byte("z"), len(p))), nil
}

func TestCanceledWhileSaving(t *testing.T) {
	s := memstore.New(nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := s.Save(ctx, "c.bin", &cancelingReader{cancel: cancel}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Save error = %v, want context.Canceled", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len() = %d after a canceled Save, want 0", n)
	}
}

func TestHandler(t *testing.T) {
	s := memstore.New(nil)
	_, err := s.Save(t.Context(), "dir/page.txt", strings.NewReader("0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := http.StripPrefix("/media/", s.Handler())
	tests := []struct {
		method, path, rangeHdr string
		wantCode               int
		wantBody               string
	}{
		{"GET", "/media/dir/page.txt", "", http.StatusOK, "0123456789"},
		{"GET", "/media/dir/page.txt", "bytes=2-4", http.StatusPartialContent, "234"},
		{"HEAD", "/media/dir/page.txt", "", http.StatusOK, ""},
		{"GET", "/media/dir", "", http.StatusNotFound, ""},
		{"GET", "/media/missing.txt", "", http.StatusNotFound, ""},
		{"GET", "/media/dir//page.txt", "", http.StatusNotFound, ""},
		{"POST", "/media/dir/page.txt", "", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.rangeHdr, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantCode < 300 && string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if tt.wantCode == http.StatusOK {
				if got := rec.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     storage.Config
		wantErr string
	}{
		{"defaults", storage.Config{}, ""},
		{"settings", storage.Config{"MEDIA_URL": "/m/", "FILE_OVERWRITE": "true"}, ""},
		{"unknown", storage.Config{"MEDIA_ROOT": "/srv"}, "MEDIA_ROOT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := storage.Open(t.Context(), "memory", tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := s.(*memstore.Storage); !ok {
				t.Fatalf("Open gave %T", s)
			}
		})
	}
	s, err := storage.Open(t.Context(), "memory",
		storage.Config{"MEDIA_URL": "/m", "FILE_OVERWRITE": true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if k, err := s.Save(t.Context(), "x.txt", strings.NewReader("x"), nil); k != "x.txt" {
			t.Errorf("Save with FILE_OVERWRITE = %q, %v; want x.txt", k, err)
		}
	}
	if u, _ := s.URL(t.Context(), "a b.txt", nil); u != "/m/a%20b.txt" {
		t.Errorf("URL = %q, want /m/a%%20b.txt", u)
	}
}
