package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/fsstore"
	"github.com/gormfile/gormfile/storage/storagetest"
)

// newServed returns a storage in a new directory whose URLs point at a test server
// that serves it.
func newServed(t *testing.T, opts fsstore.Options) *fsstore.Storage {
	srv := httptest.NewUnstartedServer(nil)
	opts.BaseURL = "http://" + srv.Listener.Addr().String() + "/media/"
	s, err := fsstore.New(t.TempDir(), &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv.Config.Handler = http.StripPrefix("/media/", s.Handler())
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		New: func(t *testing.T, overwrite bool) storage.Storage {
			return newServed(t, fsstore.Options{Overwrite: overwrite})
		},
		Fetch: storagetest.HTTPFetch,
	})
}

// files returns the names of all files and links under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSymlinkOutsideRoot(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServed(t, fsstore.Options{})
	root := s.Root()
	for link, target := range map[string]string{
		"out":          outside,
		"abs.txt":      secret,
		"rel.txt":      filepath.Join("..", filepath.Base(outside), "secret.txt"),
		"sub/deep.txt": filepath.Join("..", "..", filepath.Base(outside), "secret.txt"),
	} {
		p := filepath.Join(root, filepath.FromSlash(link))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
	}
	ctx := t.Context()
	for _, key := range []string{"out/secret.txt", "abs.txt", "rel.txt", "sub/deep.txt"} {
		t.Run(key, func(t *testing.T) {
			if rc, err := s.Open(ctx, key); err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				t.Errorf("Open read %q through a link out of the root", b)
			}
			if _, err := s.OpenRange(ctx, key, 0, -1); err == nil {
				t.Errorf("OpenRange succeeded through a link out of the root")
			}
			if a, err := s.Stat(ctx, key); err == nil {
				t.Errorf("Stat = %+v through a link out of the root", a)
			}
			u, _ := s.URL(ctx, key, nil)
			if body, err := storagetest.HTTPFetch(t, u); err == nil {
				t.Errorf("GET %s served %q", u, body)
			}
		})
	}
	if _, err := s.Save(ctx, "out/new.txt", strings.NewReader("escape"), nil); err == nil {
		t.Errorf("Save through a link out of the root succeeded")
	}
	opts := &storage.SaveOptions{Overwrite: true}
	if _, err := s.Save(ctx, "out/secret.txt", strings.NewReader("escape"), opts); err == nil {
		t.Errorf("Save with Overwrite through a link out of the root succeeded")
	}
	// Replacing a link to the outside replaces the link, never its target.
	if _, err := s.Save(ctx, "abs.txt", strings.NewReader("inside"), opts); err != nil {
		t.Errorf("Save over a link: %v", err)
	}
	if got := files(t, outside); len(got) != 1 || got[0] != "secret.txt" {
		t.Errorf("files outside the root = %q, want only secret.txt", got)
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Errorf("the file outside the root now holds %q", b)
	}
	var listed []string
	err := s.List(ctx, "", func(a *storage.Attributes) error {
		listed = append(listed, a.Key)
		return nil
	})
	if err != nil || len(listed) != 1 || listed[0] != "abs.txt" {
		t.Errorf("List = %q, %v; want only abs.txt (the links out are no objects)", listed, err)
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

type errReader struct{ n int }

var errBoom = errors.New("boom")

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errBoom
	}
	n := min(len(p), e.n)
	e.n -= n
	return n, nil
}

func TestNoTempFilesLeft(t *testing.T) {
	s := newServed(t, fsstore.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		opts    *storage.SaveOptions
		wantErr error
	}{
		{"reader fails", t.Context(), &errReader{n: 100_000}, nil, errBoom},
		{"reader fails, overwrite", t.Context(), &errReader{n: 10},
			&storage.SaveOptions{Overwrite: true}, errBoom},
		{"canceled while copying", ctx, &cancelingReader{cancel: cancel}, nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Save(tt.ctx, "dir/sub/obj.bin", tt.r, tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Save error = %v, want %v", err, tt.wantErr)
			}
			if got := files(t, s.Root()); len(got) != 0 {
				t.Errorf("files left in the root: %q", got)
			}
		})
	}

	// A taken key whose alternatives cannot fit: the temporary file goes too.
	if _, err := s.Save(t.Context(), "dir/x.txt", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	opts := &storage.SaveOptions{MaxKeyLength: len("dir/x.txt")}
	if _, err := s.Save(t.Context(), "dir/x.txt", strings.NewReader("y"), opts); err == nil {
		t.Fatal("Save with no fitting alternative succeeded")
	}
	if got := files(t, s.Root()); len(got) != 1 || got[0] != "dir/x.txt" {
		t.Errorf("files in the root = %q, want only dir/x.txt", got)
	}
}

func TestModes(t *testing.T) {
	tests := []struct {
		name              string
		fileMode, dirMode fs.FileMode
		wantFile, wantDir fs.FileMode
	}{
		{"defaults", 0, 0, 0o644, 0o755},
		// Group-write bits that a usual umask of 022 would take away.
		{"group write", 0o664, 0o775, 0o664, 0o775},
		{"private", 0o600, 0o700, 0o600, 0o700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServed(t, fsstore.Options{FileMode: tt.fileMode, DirMode: tt.dirMode})
			if _, err := s.Save(t.Context(), "a/b/c.txt", strings.NewReader("c"), nil); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]fs.FileMode{
				"a": tt.wantDir, "a/b": tt.wantDir, "a/b/c.txt": tt.wantFile,
			} {
				fi, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(name)))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s: mode %v, want %v", name, got, want)
				}
			}
		})
	}
	setuid := &fsstore.Options{FileMode: fs.ModeSetuid | 0o755}
	if _, err := fsstore.New(t.TempDir(), setuid); err == nil {
		t.Errorf("New accepted a setuid file mode")
	}
}

func TestHandler(t *testing.T) {
	s := newServed(t, fsstore.Options{})
	ctx := t.Context()
	if _, err := s.Save(ctx, "dir/page.txt", strings.NewReader("0123456789"), nil); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(s.Root(), "dir", ".gormfile-tmp-leftover")
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
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
		{"GET", "/media/dir/page.txt", "bytes=7-", http.StatusPartialContent, "789"},
		{"HEAD", "/media/dir/page.txt", "", http.StatusOK, ""},
		{"GET", "/media/dir", "", http.StatusNotFound, ""},
		{"GET", "/media/dir/", "", http.StatusNotFound, ""},
		{"GET", "/media/", "", http.StatusNotFound, ""},
		{"GET", "/media/dir/.gormfile-tmp-leftover", "", http.StatusNotFound, ""},
		{"GET", "/media/missing.txt", "", http.StatusNotFound, ""},
		{"GET", "/media/dir//page.txt", "", http.StatusNotFound, ""},
		{"GET", "/media/dir/../dir/page.txt", "", http.StatusNotFound, ""},
		{"PUT", "/media/dir/page.txt", "", http.StatusMethodNotAllowed, ""},
		{"DELETE", "/media/dir/page.txt", "", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.rangeHdr, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantCode >= 300 {
				return
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			hdr := rec.Header()
			if got := hdr.Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			wantLen := map[int]string{http.StatusOK: "10", http.StatusPartialContent: ""}
			if want := wantLen[tt.wantCode]; want != "" && hdr.Get("Content-Length") != want {
				t.Errorf("Content-Length = %q, want %q", hdr.Get("Content-Length"), want)
			}
			if hdr.Get("Last-Modified") == "" {
				t.Errorf("no Last-Modified header")
			}
		})
	}
}

func TestNotADirectory(t *testing.T) {
	s := newServed(t, fsstore.Options{})
	ctx := t.Context()
	if _, err := s.Save(ctx, "file.txt", strings.NewReader("f"), nil); err != nil {
		t.Fatal(err)
	}
	// "file.txt/inner" names no object: missing, not a failure.
	if _, err := s.Stat(ctx, "file.txt/inner"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat error = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(ctx, "file.txt/inner"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	// But a file cannot hold another one.
	if _, err := s.Save(ctx, "file.txt/inner", strings.NewReader("i"), nil); err == nil {
		t.Errorf("Save under a file succeeded")
	}
}

func TestInvalidListPrefix(t *testing.T) {
	s := newServed(t, fsstore.Options{})
	for _, prefix := range []string{"/", "../", "a//", "./x"} {
		err := s.List(t.Context(), prefix, func(*storage.Attributes) error { return nil })
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("List(%q) error = %v, want storage.ErrInvalidKey", prefix, err)
		}
	}
}

func TestRoot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := fsstore.New("media/files", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := filepath.Join(dir, "media", "files"); s.Root() != want {
		t.Errorf("Root() = %q, want %q", s.Root(), want)
	}
	if fi, err := os.Stat(s.Root()); err != nil || !fi.IsDir() {
		t.Errorf("New did not create the root: %v", err)
	}
	if u, _ := s.URL(t.Context(), "a b/c#d.txt", nil); u != "/media/a%20b/c%23d.txt" {
		t.Errorf("URL = %q, want the default base /media/", u)
	}
}

func TestTempFilesHidden(t *testing.T) {
	s := newServed(t, fsstore.Options{})
	ctx := t.Context()
	if _, err := s.Save(ctx, "dir/kept.txt", strings.NewReader("k"), nil); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a process that died while writing.
	leftover := filepath.Join(s.Root(), "dir", ".gormfile-tmp-ABC")
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	var listed []string
	err := s.List(ctx, "dir/", func(a *storage.Attributes) error {
		listed = append(listed, a.Key)
		return nil
	})
	if err != nil || len(listed) != 1 || listed[0] != "dir/kept.txt" {
		t.Errorf("List = %q, %v; want only dir/kept.txt", listed, err)
	}
	for _, key := range []string{"dir/.gormfile-tmp-ABC", ".gormfile-tmp-x/a.txt"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q) error = %v, want storage.ErrInvalidKey", key, err)
		}
		_, err := s.Save(ctx, key, strings.NewReader("x"), nil)
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Save(%q) error = %v, want storage.ErrInvalidKey", key, err)
		}
	}
}
