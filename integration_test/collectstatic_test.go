package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/staticfiles"
	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/s3store"
)

// requestCounter counts the requests an S3 client sends, by method, and can fail the
// Nth PUT.
type requestCounter struct {
	next http.RoundTripper

	mu     sync.Mutex
	counts map[string]int
	puts   int
	// failPut, when positive, makes the PUT of that rank (1-based) fail.
	failPut int
}

var errPutRefused = errors.New("PUT refused by the test")

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[r.Method]++
	fail := false
	if r.Method == http.MethodPut {
		c.puts++
		fail = c.puts == c.failPut
	}
	c.mu.Unlock()
	if fail {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errPutRefused
	}
	return c.next.RoundTrip(r)
}

// take returns the counts so far and starts again from zero.
func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]int{}
	return out
}

// staticS3 returns a storage under the location "static/" of a fresh bucket, with 5 MiB
// parts, whose client's requests go through the returned counter.
func staticS3(t *testing.T) (*s3store.Storage, string, *requestCounter) {
	t.Helper()
	srv := s3Server(t)
	bucket := srv.NewBucket(t)
	cfg := storage.Config(srv.Config(bucket)).With(map[string]any{
		"AWS_LOCATION":     "static/",
		"AWS_S3_PART_SIZE": s3store.MinPartSize,
	})
	rc := &requestCounter{next: http.DefaultTransport, counts: map[string]int{}}
	st, err := s3store.NewFromConfig(t.Context(), cfg, func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: rc}
		o.RetryMaxAttempts = 1
	})
	if err != nil {
		t.Fatalf("NewFromConfig: %v", err)
	}
	return st, bucket, rc
}

// staticTree writes a tree of assets, one of them larger than a part, and returns the
// relative paths.
func staticTree(t *testing.T, dir string) []string {
	t.Helper()
	large := make([]byte, s3store.MinPartSize+1<<20)
	rand.Read(large)
	files := map[string][]byte{
		"css/app.css":       []byte("body { color: red }"),
		"css/print.css":     []byte("@media print { body { color: black } }"),
		"js/app.js":         []byte("console.log('hello')"),
		"img/logo.svg":      []byte("<svg></svg>"),
		"fonts/a b.woff2":   []byte("woff2 bytes"),
		"robots.txt":        []byte("User-agent: *"),
		"video/intro.webm":  large,
		".DS_Store":         []byte("ignored"),
		"js/vendor/lib.js":  []byte("var lib = {}"),
		"js/vendor/lib.js~": []byte("ignored"),
	}
	var keys []string
	for rel, content := range files {
		name := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rel, ".") && !strings.HasSuffix(rel, "~") {
			keys = append(keys, rel)
		}
	}
	slices.Sort(keys)
	return keys
}

func collectS3(t *testing.T, st storage.Storage, o staticfiles.Options) *staticfiles.Result {
	t.Helper()
	res, err := staticfiles.Collect(context.Background(), st, &o)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return res
}

func wantCounts(t *testing.T, res *staticfiles.Result, copied, unmodified, deleted int) {
	t.Helper()
	got := [3]int{res.Copied, res.Unmodified, res.Deleted}
	if want := [3]int{copied, unmodified, deleted}; got != want {
		t.Errorf("copied, unmodified, deleted = %v, want %v", got, want)
	}
}

func TestCollectStaticS3(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	keys := staticTree(t, src)
	st, bucket, rc := staticS3(t)
	opts := staticfiles.Options{Sources: []string{src}, CacheControl: "max-age=31536000"}

	res := collectS3(t, st, opts)
	wantCounts(t, res, len(keys), 0, 0)
	if got := objects(t, st); !slices.Equal(got, keys) {
		t.Fatalf("objects = %q, want %q", got, keys)
	}
	a, err := st.Stat(ctx, "css/app.css")
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentType != "text/css; charset=utf-8" {
		t.Errorf("content type = %q", a.ContentType)
	}
	head, err := s3Server(t).Client().HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: &bucket, Key: aws.String("static/css/app.css")})
	if err != nil {
		t.Fatal(err)
	}
	if cc := head.CacheControl; cc == nil || *cc != "max-age=31536000" {
		t.Errorf("Cache-Control = %v", cc)
	}
	if !bytes.Equal(content(t, st, "video/intro.webm"),
		mustRead(t, filepath.Join(src, "video", "intro.webm"))) {
		t.Error("video/intro.webm differs from its file")
	}

	rc.take()
	res = collectS3(t, st, opts)
	wantCounts(t, res, 0, len(keys), 0)
	counts := rc.take()
	if counts[http.MethodPut] != 0 || counts[http.MethodPost] != 0 {
		t.Errorf("no-change re-run sent %v, want no PUT or POST", counts)
	}
	// One listing page, and one HEAD for the multipart object's stored digest.
	if counts[http.MethodGet] != 1 || counts[http.MethodHead] != 1 {
		t.Errorf("no-change re-run sent %v, want 1 GET and 1 HEAD", counts)
	}

	// The same size, the same modification time, another content.
	for _, rel := range []string{"css/app.css", "video/intro.webm"} {
		name := filepath.Join(src, filepath.FromSlash(rel))
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		changed := mustRead(t, name)
		changed[0] ^= 0xff
		if err := os.WriteFile(name, changed, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	res = collectS3(t, st, opts)
	wantCounts(t, res, 2, len(keys)-2, 0)
	counts = rc.take()
	// One PUT for the small file; a multipart upload for the large one (POST to start,
	// a PUT per part, POST to complete).
	if counts[http.MethodPut] != 3 || counts[http.MethodPost] != 2 {
		t.Errorf("changed files: %v, want 3 PUT and 2 POST", counts)
	}
	for _, rel := range []string{"css/app.css", "video/intro.webm"} {
		if !bytes.Equal(content(t, st, rel), mustRead(t, filepath.Join(src, rel))) {
			t.Errorf("%s differs from its changed file", rel)
		}
	}
}

func TestCollectStaticS3ClearDryRun(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	keys := staticTree(t, src)
	st, bucket, rc := staticS3(t)
	// An object outside the storage's location is none of its business.
	_, err := s3Server(t).Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: &bucket, Key: aws.String("media/upload.bin"), Body: strings.NewReader("keep")})
	if err != nil {
		t.Fatal(err)
	}

	res := collectS3(t, st, staticfiles.Options{Sources: []string{src}, DryRun: true})
	wantCounts(t, res, len(keys), 0, 0)
	if got := objects(t, st); len(got) != 0 {
		t.Fatalf("dry run wrote %q", got)
	}
	if counts := rc.take(); counts[http.MethodPut]+counts[http.MethodPost] != 0 {
		t.Errorf("dry run sent %v", counts)
	}

	collectS3(t, st, staticfiles.Options{Sources: []string{src}})
	if _, err := st.Save(ctx, "old/gone.js", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	rc.take()
	res = collectS3(t, st, staticfiles.Options{Sources: []string{src}, Clear: true,
		DryRun: true})
	wantCounts(t, res, 0, len(keys), 1)
	if counts := rc.take(); counts[http.MethodDelete] != 0 || !exists(t, st, "old/gone.js") {
		t.Errorf("dry run with --clear sent %v", counts)
	}

	res = collectS3(t, st, staticfiles.Options{Sources: []string{src}, Clear: true})
	wantCounts(t, res, 0, len(keys), 1)
	if got := objects(t, st); !slices.Equal(got, keys) {
		t.Errorf("after --clear: objects = %q, want %q", got, keys)
	}
	if _, err := s3Server(t).Client().HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: &bucket, Key: aws.String("media/upload.bin")}); err != nil {
		t.Errorf("the object outside the location: %v", err)
	}
}

func TestCollectStaticS3Interrupted(t *testing.T) {
	src := t.TempDir()
	keys := staticTree(t, src)
	st, _, rc := staticS3(t)
	rc.failPut = 3
	opts := staticfiles.Options{Sources: []string{src}, Jobs: 2}

	res, err := staticfiles.Collect(context.Background(), st, &opts)
	var e *staticfiles.Error
	if !errors.As(err, &e) || !slices.Contains(keys, e.Key) {
		t.Fatalf("err = %v, want a *staticfiles.Error naming a key", err)
	}
	got := objects(t, st)
	if len(got) != res.Copied || len(got) >= len(keys) {
		t.Fatalf("%d objects after the failure, result says %d copied of %d", len(got),
			res.Copied, len(keys))
	}

	rc.failPut = 0
	done := res.Copied
	res = collectS3(t, st, opts)
	wantCounts(t, res, len(keys)-done, done, 0)
	if got := objects(t, st); !slices.Equal(got, keys) {
		t.Errorf("after the re-run: objects = %q, want %q", got, keys)
	}
	res = collectS3(t, st, opts)
	wantCounts(t, res, 0, len(keys), 0)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCollectStaticS3Manifest(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	files := map[string]string{
		"img/logo.png": "png bytes",
		"css/app.css":  `@import "base.css"; .logo { background: url("../img/logo.png?v=1") }`,
		"css/base.css": `body { background: url(../img/logo.png) }`,
	}
	for rel, data := range files {
		name := filepath.Join(src, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, _, rc := staticS3(t)
	opts := staticfiles.Options{Sources: []string{src}, Manifest: true}

	res := collectS3(t, st, opts)
	wantCounts(t, res, 7, 0, 0) // 3 files, 3 hashed copies, the manifest
	m, err := staticfiles.LoadManifest(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	logo, _ := m.HashedName("img/logo.png")
	base, _ := m.HashedName("css/base.css")
	app, _ := m.HashedName("css/app.css")
	want := `@import "` + filepath.Base(base) + `"; .logo { background: url("../img/` +
		filepath.Base(logo) + `?v=1") }`
	if got := string(content(t, st, app)); got != want {
		t.Errorf("%s = %q, want %q", app, got, want)
	}
	if got := string(content(t, st, base)); !strings.Contains(got, filepath.Base(logo)) {
		t.Errorf("%s = %q, does not name %s", base, got, logo)
	}
	u, err := m.URL(ctx, st, "css/app.css")
	if err != nil || !strings.Contains(u, "/static/"+app) {
		t.Errorf("URL = %q, %v; want the address of %s", u, err, app)
	}

	rc.take()
	res = collectS3(t, st, opts)
	wantCounts(t, res, 0, 7, 0)
	if counts := rc.take(); counts[http.MethodPut] != 0 {
		t.Errorf("no-change re-run sent %v", counts)
	}
}
