package staticfiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/fsstore"
	"github.com/gormfile/gormfile/storage/memstore"
)

// counting wraps a storage, counts its saves and deletes, and can fail the Nth save.
type counting struct {
	storage.Storage
	saves, deletes atomic.Int64
	// failAt, when positive, makes the save of that rank (1-based) fail.
	failAt int64
	// beforeSave, when set, runs before each save reaches the storage.
	beforeSave func(key string)
}

var errInjected = errors.New("injected failure")

func (c *counting) Save(ctx context.Context, key string, r io.Reader,
	opts *storage.SaveOptions) (string, error) {
	n := c.saves.Add(1)
	if c.failAt > 0 && n == c.failAt {
		return "", errInjected
	}
	if c.beforeSave != nil {
		c.beforeSave(key)
	}
	return c.Storage.Save(ctx, key, r, opts)
}

func (c *counting) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Storage.Delete(ctx, key)
}

// countingHasher is a counting storage over a storage that implements storage.Hasher.
type countingHasher struct {
	*counting
	storage.Hasher
}

// backend opens a fresh destination and wraps it.
type backend struct {
	name string
	open func(t *testing.T) storage.Storage
}

var backends = []backend{
	{"memory", func(t *testing.T) storage.Storage { return memstore.New(nil) }},
	{"filesystem", func(t *testing.T) storage.Storage {
		st, err := fsstore.New(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// wrap returns a counting wrapper of st that keeps st's Hasher, and the counter.
func wrap(st storage.Storage) (storage.Storage, *counting) {
	c := &counting{Storage: st}
	if h, ok := st.(storage.Hasher); ok {
		return countingHasher{c, h}, c
	}
	return c, c
}

// writeTree writes files (relative path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		name := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// keys lists the storage's keys.
func keys(t *testing.T, st storage.Storage) []string {
	t.Helper()
	var out []string
	err := st.List(context.Background(), "", func(a *storage.Attributes) error {
		out = append(out, a.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t *testing.T, st storage.Storage, key string) string {
	t.Helper()
	r, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func collect(t *testing.T, st storage.Storage, o Options) *Result {
	t.Helper()
	res, err := Collect(context.Background(), st, &o)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return res
}

func checkCounts(t *testing.T, res *Result, copied, unmodified, deleted int) {
	t.Helper()
	got := [3]int{res.Copied, res.Unmodified, res.Deleted}
	if want := [3]int{copied, unmodified, deleted}; got != want {
		t.Errorf("copied, unmodified, deleted = %v, want %v", got, want)
	}
}

var tree = map[string]string{
	"css/app.css":      "body { color: red }",
	"css/print.css":    "@media print { body { color: black } }",
	"js/app.js":        "console.log('hello')",
	"img/logo.svg":     "<svg></svg>",
	"fonts/a b.woff2":  "woff2 bytes",
	"robots.txt":       "User-agent: *",
	"js/vendor/lib.js": "var lib = {}",
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestCollect(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			src := t.TempDir()
			writeTree(t, src, tree)
			st, cnt := wrap(b.open(t))
			opts := Options{Sources: []string{src}, CacheControl: "max-age=60"}

			res := collect(t, st, opts)
			checkCounts(t, res, len(tree), 0, 0)
			if got := cnt.saves.Load(); got != int64(len(tree)) {
				t.Errorf("first run: %d saves, want %d", got, len(tree))
			}
			if got, want := keys(t, st), sortedKeys(tree); !slices.Equal(got, want) {
				t.Errorf("keys = %q, want %q", got, want)
			}
			for key, content := range tree {
				if got := read(t, st, key); got != content {
					t.Errorf("%s = %q, want %q", key, got, content)
				}
			}

			cnt.saves.Store(0)
			res = collect(t, st, opts)
			checkCounts(t, res, 0, len(tree), 0)
			if got := cnt.saves.Load(); got != 0 {
				t.Errorf("no-change re-run: %d saves, want 0", got)
			}

			// The same size, the same modification time, another content.
			name := filepath.Join(src, "css", "app.css")
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte("body { color: tan }"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(name, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			cnt.saves.Store(0)
			res = collect(t, st, opts)
			checkCounts(t, res, 1, len(tree)-1, 0)
			if got := cnt.saves.Load(); got != 1 {
				t.Errorf("changed file: %d saves, want 1", got)
			}
			if got := read(t, st, "css/app.css"); got != "body { color: tan }" {
				t.Errorf("css/app.css = %q after the change", got)
			}
		})
	}
}

func TestCollectMetadata(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, tree)
	st := memstore.New(nil)
	collect(t, st, Options{Sources: []string{src}})
	for key, content := range tree {
		a, err := st.Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content))
		if got, want := a.Metadata[MetadataSHA256], hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 = %q, want %q", key, got, want)
		}
		if got, want := a.ContentType, storage.ContentTypeByName(key); got != want {
			t.Errorf("%s: content type = %q, want %q", key, got, want)
		}
	}
}

func TestCollectClearAndDryRun(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			src := t.TempDir()
			writeTree(t, src, tree)
			st, cnt := wrap(b.open(t))

			res := collect(t, st, Options{Sources: []string{src}, DryRun: true})
			checkCounts(t, res, len(tree), 0, 0)
			if got := keys(t, st); len(got) != 0 || cnt.saves.Load() != 0 {
				t.Fatalf("dry run wrote %q (%d saves)", got, cnt.saves.Load())
			}

			collect(t, st, Options{Sources: []string{src}})
			for _, key := range []string{"old/gone.css", "zz.txt"} {
				_, err := st.Save(ctx, key, strings.NewReader("old"), nil)
				if err != nil {
					t.Fatal(err)
				}
			}
			cnt.saves.Store(0)

			res = collect(t, st, Options{Sources: []string{src}})
			checkCounts(t, res, 0, len(tree), 0)
			if n := len(keys(t, st)); n != len(tree)+2 {
				t.Errorf("without --clear: %d objects, want %d", n, len(tree)+2)
			}

			res = collect(t, st, Options{Sources: []string{src}, Clear: true, DryRun: true})
			checkCounts(t, res, 0, len(tree), 2)
			if n := len(keys(t, st)); n != len(tree)+2 || cnt.deletes.Load() != 0 {
				t.Errorf("dry run with --clear: %d objects, %d deletes", n,
					cnt.deletes.Load())
			}

			res = collect(t, st, Options{Sources: []string{src}, Clear: true})
			checkCounts(t, res, 0, len(tree), 2)
			if got, want := keys(t, st), sortedKeys(tree); !slices.Equal(got, want) {
				t.Errorf("after --clear: keys = %q, want %q", got, want)
			}
			if cnt.saves.Load() != 0 {
				t.Errorf("%d saves, want 0", cnt.saves.Load())
			}
		})
	}
}

func TestCollectIgnore(t *testing.T) {
	files := map[string]string{
		"app.js":          "a",
		".env":            "secret",
		".git/config":     "git",
		"app.js~":         "backup",
		"CVS/Entries":     "cvs",
		"app.js.map":      "{}",
		"vendor/x/lib.js": "lib",
		"vendor/top.js":   "top",
		"css/site.css":    "css",
	}
	tests := []struct {
		name   string
		ignore []string
		want   []string
	}{
		{"defaults", nil, []string{"app.js", "app.js.map", "css/site.css", "vendor/top.js",
			"vendor/x/lib.js"}},
		{"base name and relative path", []string{"*.map", "vendor/x"}, []string{
			".env", ".git/config", "CVS/Entries", "app.js", "app.js~", "css/site.css",
			"vendor/top.js"}},
		{"nothing", []string{}, sortedKeys(files)},
	}
	src := t.TempDir()
	writeTree(t, src, files)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New(nil)
			collect(t, st, Options{Sources: []string{src}, Ignore: tt.ignore})
			if got := keys(t, st); !slices.Equal(got, tt.want) {
				t.Errorf("keys = %q, want %q", got, tt.want)
			}
		})
	}

	_, err := Collect(context.Background(), memstore.New(nil),
		&Options{Sources: []string{src}, Ignore: []string{"[x"}})
	if err == nil {
		t.Error("a malformed pattern gave no error")
	}
}

func TestCollectFirstSourceWins(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	writeTree(t, first, map[string]string{"app.css": "first"})
	writeTree(t, second, map[string]string{"app.css": "second", "extra.js": "x"})
	st := memstore.New(nil)
	res := collect(t, st, Options{Sources: []string{first, second}})
	checkCounts(t, res, 2, 0, 0)
	if got := read(t, st, "app.css"); got != "first" {
		t.Errorf("app.css = %q, want the first source's", got)
	}
}

func TestCollectInterrupted(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			src := t.TempDir()
			writeTree(t, src, tree)
			st, cnt := wrap(b.open(t))
			cnt.failAt = 3
			opts := Options{Sources: []string{src}, Jobs: 2, Clear: true}

			res, err := Collect(context.Background(), st, &opts)
			var e *Error
			if !errors.As(err, &e) || e.Op != "copy" || tree[e.Key] == "" {
				t.Fatalf("err = %v, want a copy *Error naming a key", err)
			}
			if !errors.Is(err, errInjected) {
				t.Errorf("err = %v, does not wrap the storage's error", err)
			}
			if got := len(keys(t, st)); got != res.Copied || got >= len(tree) {
				t.Errorf("%d objects after the failure, result says %d copied of %d",
					got, res.Copied, len(tree))
			}

			cnt.failAt = 0
			cnt.saves.Store(0)
			before := res.Copied
			res = collect(t, st, opts)
			checkCounts(t, res, len(tree)-before, before, 0)
			if got := cnt.saves.Load(); got != int64(len(tree)-before) {
				t.Errorf("re-run: %d saves, want %d", got, len(tree)-before)
			}
			for key, content := range tree {
				if got := read(t, st, key); got != content {
					t.Errorf("%s = %q, want %q", key, got, content)
				}
			}
		})
	}
}

func TestCollectFileChangedDuringUpload(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"app.js": "one"})
	st, cnt := wrap(memstore.New(nil))
	cnt.beforeSave = func(string) {
		if err := os.WriteFile(filepath.Join(src, "app.js"), []byte("two"), 0o644); err != nil {
			t.Error(err)
		}
	}
	_, err := Collect(context.Background(), st, &Options{Sources: []string{src}})
	if !errors.Is(err, errChanged) {
		t.Fatalf("err = %v, want %v", err, errChanged)
	}
	if got := keys(t, st); len(got) != 0 {
		t.Errorf("keys = %q, want none", got)
	}
}

// multipart lists its objects with a multipart entity tag and no metadata, as S3 does.
type multipart struct {
	storage.Storage
	stats atomic.Int64
}

func (m *multipart) List(ctx context.Context, prefix string,
	fn func(*storage.Attributes) error) error {
	return m.Storage.List(ctx, prefix, func(a *storage.Attributes) error {
		a.ETag = "0123456789abcdef0123456789abcdef-2"
		a.Metadata = nil
		return fn(a)
	})
}

func (m *multipart) Stat(ctx context.Context, key string) (*storage.Attributes, error) {
	m.stats.Add(1)
	return m.Storage.Stat(ctx, key)
}

func TestCollectMultipartObjects(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, tree)
	mem := memstore.New(nil)
	collect(t, mem, Options{Sources: []string{src}})

	mp := &multipart{Storage: mem}
	st, cnt := wrap(mp)
	res := collect(t, st, Options{Sources: []string{src}})
	checkCounts(t, res, 0, len(tree), 0)
	if cnt.saves.Load() != 0 || mp.stats.Load() != int64(len(tree)) {
		t.Errorf("%d saves, %d stats; want 0 and %d", cnt.saves.Load(), mp.stats.Load(),
			len(tree))
	}

	// An object written by another tool has no digest in its metadata.
	if _, err := mem.Save(context.Background(), "js/app.js", strings.NewReader(tree["js/app.js"]),
		&storage.SaveOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	res = collect(t, st, Options{Sources: []string{src}})
	checkCounts(t, res, 1, len(tree)-1, 0)
}

func TestCollectProgress(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, tree)
	st := memstore.New(nil)
	if _, err := st.Save(context.Background(), "stale.txt", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []Event
	)
	collect(t, st, Options{Sources: []string{src}, Clear: true, Progress: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	if len(events) != len(tree)+1 {
		t.Fatalf("%d events, want %d", len(events), len(tree)+1)
	}
	for i, e := range events {
		if e.Done != i+1 || e.Total != len(tree)+1 {
			t.Errorf("event %d: done %d of %d", i, e.Done, e.Total)
		}
	}
	if last := events[len(events)-1]; last.Action != Deleted || last.Key != "stale.txt" {
		t.Errorf("last event = %+v, want the deletion of stale.txt", last)
	}
}

func TestCollectErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeTree(t, dir, map[string]string{"f": "x"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		opts *Options
	}{
		{"no source", context.Background(), nil},
		{"missing source", context.Background(),
			&Options{Sources: []string{filepath.Join(dir, "missing")}}},
		{"file source", context.Background(), &Options{Sources: []string{file}}},
		{"cancelled", ctx, &Options{Sources: []string{dir}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Collect(tt.ctx, memstore.New(nil), tt.opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

func ExampleCollect() {
	src, err := os.MkdirTemp("", "static")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "app.css"), []byte("body{}"), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	dst := memstore.New(&memstore.Options{BaseURL: "/static/"})
	for range 2 {
		res, err := Collect(context.Background(), dst, &Options{Sources: []string{src}})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d copied, %d unmodified\n", res.Copied, res.Unmodified)
	}
	// Output:
	// 1 copied, 0 unmodified
	// 0 copied, 1 unmodified
}
