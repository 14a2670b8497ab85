package integration_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/integration_test/internal/s3server"
	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/s3store"
	"github.com/gormfile/gormfile/storage/storagetest"
)

// The tests of the S3 backend run against the versitygw server that TestMain starts
// (s3srv). Each storage gets a bucket of its own.

const testPartSize = s3store.MinPartSize

// partSizeSetting is testPartSize as a setting.
var partSizeSetting = fmt.Sprint(testPartSize)

// s3Server returns the package's shared test server.
func s3Server(t *testing.T) *s3server.Server {
	t.Helper()
	if s3srv == nil {
		t.Fatal("the S3 test server was not started by TestMain")
	}
	return s3srv
}

func TestS3Conformance(t *testing.T) {
	srv := s3Server(t)
	variants := []struct {
		name     string
		location string
		presign  bool
	}{
		{"presigned", "/media/", true},
		{"plain", "site//media/", false},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Harness{
				New: func(t *testing.T, overwrite bool) storage.Storage {
					bucket := srv.NewBucket(t)
					if !v.presign {
						srv.AllowPublicRead(t, bucket)
					}
					st, err := s3store.New(srv.Client(), &s3store.Options{
						Bucket:          bucket,
						Location:        v.location,
						Overwrite:       overwrite,
						QuerystringAuth: v.presign,
						PartSize:        testPartSize,
						ListPageSize:    3,
					})
					if err != nil {
						t.Fatal(err)
					}
					return st
				},
				Fetch:        storagetest.HTTPFetch,
				LargeSize:    12 << 20,
				ListPageSize: 3,
			})
		})
	}
}

// s3Storage returns a storage on a fresh bucket, built from settings, with more set.
func s3Storage(t *testing.T, more map[string]any, optFns ...func(*s3.Options),
) (*s3store.Storage, string) {
	t.Helper()
	srv := s3Server(t)
	bucket := srv.NewBucket(t)
	cfg := storage.Config(srv.Config(bucket)).With(more)
	st, err := s3store.NewFromConfig(t.Context(), cfg, optFns...)
	if err != nil {
		t.Fatalf("NewFromConfig: %v", err)
	}
	return st, bucket
}

// patternReader streams size bytes of a repeating pattern, in small reads.
type patternReader struct{ off, size int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off, 64<<10)]
	for i := range b {
		b[i] = byte((p.off + int64(i)) * 7 / 5)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSum(size int64) [sha256.Size]byte {
	h := sha256.New()
	io.Copy(h, &patternReader{size: size})
	return [sha256.Size]byte(h.Sum(nil))
}

func TestS3MultipartFromPipe(t *testing.T) {
	st, bucket := s3Storage(t, map[string]any{"AWS_S3_PART_SIZE": partSizeSetting,
		"AWS_LOCATION": "up"})
	const size = 23 << 20
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, &patternReader{size: size})
		pw.CloseWithError(err)
	}()
	key, err := st.Save(t.Context(), "big/pipe.bin", pr, nil)
	if err != nil || key != "big/pipe.bin" {
		t.Fatalf("Save = %q, %v", key, err)
	}

	a, err := st.Stat(t.Context(), key)
	if err != nil || a.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", a, err, size)
	}
	// A multipart ETag ends with the number of parts.
	if !strings.HasSuffix(a.ETag, "-5") {
		t.Errorf("ETag %q: not the ETag of a 5-part upload", a.ETag)
	}
	rc, err := st.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || [sha256.Size]byte(h.Sum(nil)) != patternSum(size) {
		t.Errorf("read back %d bytes, %v; content differs", n, err)
	}
	// The location is applied once: the bucket key is up/big/pipe.bin.
	if _, err := s3Server(t).Client().HeadObject(t.Context(), &s3.HeadObjectInput{
		Bucket: &bucket, Key: aws.String("up/big/pipe.bin")}); err != nil {
		t.Errorf("HeadObject up/big/pipe.bin: %v", err)
	}
}

var errBoom = errors.New("reader failed on purpose")

// failAfter yields n bytes of pattern, then fails; it cancels cancel (if set) instead
// of failing, to test cancellation.
type failAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.cancel != nil {
			f.cancel()
			time.Sleep(10 * time.Millisecond)
			return 0, context.Canceled
		}
		return 0, errBoom
	}
	p = p[:min(int64(len(p)), f.n)]
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// checkNoUpload asserts that the bucket holds no object and no unfinished upload.
func checkNoUpload(t *testing.T, bucket string) {
	t.Helper()
	c := s3Server(t).Client()
	ups, err := c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left behind", len(ups.Uploads))
	}
	objs, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	if len(objs.Contents) != 0 {
		t.Errorf("%d objects left behind, first %q", len(objs.Contents),
			aws.ToString(objs.Contents[0].Key))
	}
}

func TestS3FailedUploadLeavesNothing(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		t.Run(fmt.Sprint("overwrite=", overwrite), func(t *testing.T) {
			st, bucket := s3Storage(t, map[string]any{"AWS_S3_PART_SIZE": partSizeSetting,
				"AWS_S3_FILE_OVERWRITE": overwrite})
			r := &failAfter{r: &patternReader{size: 1 << 30}, n: 2*testPartSize + 100_000}
			key, err := st.Save(t.Context(), "fail.bin", r, nil)
			if !errors.Is(err, errBoom) {
				t.Fatalf("Save = %q, %v; want the reader's error", key, err)
			}
			if ok, err := storage.Exists(t.Context(), st, "fail.bin"); ok || err != nil {
				t.Errorf("Exists = %v, %v; want false", ok, err)
			}
			checkNoUpload(t, bucket)
		})
	}
	t.Run("canceled", func(t *testing.T) {
		st, bucket := s3Storage(t, map[string]any{"AWS_S3_PART_SIZE": testPartSize})
		ctx, cancel := context.WithCancel(t.Context())
		r := &failAfter{r: &patternReader{size: 1 << 30}, n: 3 * testPartSize, cancel: cancel}
		_, err := st.Save(ctx, "canceled.bin", r, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Save = %v, want context.Canceled", err)
		}
		checkNoUpload(t, bucket)
	})
}

func TestS3NoOverwriteMultipart(t *testing.T) {
	st, _ := s3Storage(t, map[string]any{"AWS_S3_PART_SIZE": testPartSize})
	const size = 2*testPartSize + 1
	first, err := st.Save(t.Context(), "m.bin", &patternReader{size: size}, nil)
	if err != nil || first != "m.bin" {
		t.Fatalf("first Save = %q, %v", first, err)
	}
	second, err := st.Save(t.Context(), "m.bin", &patternReader{size: size}, nil)
	if err != nil || second == first || !strings.HasPrefix(second, "m_") {
		t.Fatalf("second Save = %q, %v; want an alternative name", second, err)
	}
	third, err := st.Save(t.Context(), "m.bin", &patternReader{size: size},
		&storage.SaveOptions{Overwrite: true})
	if err != nil || third != "m.bin" {
		t.Fatalf("Save with Overwrite = %q, %v", third, err)
	}
}

// TestS3CompleteRace checks the last guard of a multipart Save without overwrite: the
// key was free when the upload began and is taken when it completes.
func TestS3CompleteRace(t *testing.T) {
	srv := s3Server(t)
	st, bucket := s3Storage(t, map[string]any{"AWS_S3_PART_SIZE": testPartSize})
	pr, pw := io.Pipe()
	go func() {
		// Two parts and the start of a third are read, so the upload has begun (a pipe
		// write returns once read); then another writer takes the key; then the
		// content ends.
		io.Copy(pw, &patternReader{size: 2*testPartSize + 100})
		_, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: &bucket, Key: aws.String("race.bin"), Body: strings.NewReader("other"),
		})
		pw.CloseWithError(err)
	}()
	key, err := st.Save(t.Context(), "race.bin", pr, nil)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "during the upload") {
		t.Fatalf("Save = %q, %v; want fs.ErrExist, taken during the upload", key, err)
	}
	rc, err := st.Open(t.Context(), "race.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "other" {
		t.Errorf("the other writer's object was replaced: %d bytes", len(got))
	}
	ups, err := srv.Client().ListMultipartUploads(t.Context(),
		&s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("ListMultipartUploads = %d uploads, %v; want none", len(ups.Uploads), err)
	}
}

// TestS3RangeOfEmptyObject reads ranges of an object that has no satisfiable range.
func TestS3RangeOfEmptyObject(t *testing.T) {
	st, _ := s3Storage(t, nil)
	key, err := st.Save(t.Context(), "empty.txt", strings.NewReader(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{0, 5}, {0, -1}, {3, -1}, {0, 0}} {
		rc, err := st.OpenRange(t.Context(), key, r[0], r[1])
		if err != nil {
			t.Errorf("OpenRange(%d, %d): %v", r[0], r[1], err)
			continue
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || len(b) != 0 {
			t.Errorf("OpenRange(%d, %d) = %q, %v; want empty", r[0], r[1], b, err)
		}
	}
}

func TestS3Settings(t *testing.T) {
	srv := s3Server(t)
	bucket := srv.NewBucket(t)
	cfg := storage.Config(srv.Config(bucket)).With(map[string]any{
		"AWS_LOCATION":     "/media//x/",
		"AWS_DEFAULT_ACL":  "public-read",
		"AWS_S3_PART_SIZE": partSizeSetting,
		"AWS_S3_OBJECT_PARAMETERS": map[string]any{
			"CacheControl": "max-age=86400",
			"Metadata":     map[string]any{"owner": "tests"},
		},
	})
	st, err := storage.Open(t.Context(), "storages.backends.s3boto3.S3Boto3Storage", cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := st.Save(t.Context(), "a b+c.txt", strings.NewReader("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{
		Bucket: &bucket, Key: aws.String("media/x/a b+c.txt")})
	if err != nil {
		t.Fatalf("HeadObject under the location: %v", err)
	}
	if cc := aws.ToString(head.CacheControl); cc != "max-age=86400" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if ct := aws.ToString(head.ContentType); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if enc := aws.ToString(head.ContentEncoding); enc != "" {
		t.Errorf("Content-Encoding = %q, want none", enc)
	}
	a, err := st.Stat(t.Context(), key)
	if err != nil || a.Metadata["owner"] != "tests" || a.ETag == "" ||
		strings.Contains(a.ETag, `"`) {
		t.Errorf("Stat = %+v, %v; want the metadata and an unquoted ETag", a, err)
	}
	// The parameters go with multipart uploads too.
	big, err := st.Save(t.Context(), "big.bin", &patternReader{size: testPartSize + 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err = srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{
		Bucket: &bucket, Key: aws.String("media/x/" + big)})
	if err != nil || aws.ToString(head.CacheControl) != "max-age=86400" ||
		head.Metadata["owner"] != "tests" || !strings.HasSuffix(aws.ToString(head.ETag), `-2"`) {
		t.Errorf("HeadObject of a multipart upload = %+v, %v", head, err)
	}

	// Presigned by default, and the download name reaches the response.
	u, err := st.URL(t.Context(), key, &storage.URLOptions{DownloadName: "résumé.txt"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("GET %s = %s %q", u, resp.Status, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != s3store.Attachment("résumé.txt") {
		t.Errorf("Content-Disposition = %q, want %q", cd, s3store.Attachment("résumé.txt"))
	}
	// Expired URLs are refused.
	u, err = st.URL(t.Context(), key, &storage.URLOptions{Expires: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if resp, err := http.Get(u); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET of an expired URL = %v, %v; want 403", resp.Status, err)
	} else {
		resp.Body.Close()
	}
}

// TestS3PublicEndpoint reaches the server at one address and hands out URLs of another
// (the same server through a proxy).
func TestS3PublicEndpoint(t *testing.T) {
	srv := s3Server(t)
	target, _ := url.Parse(srv.Endpoint)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(proxy.Close)
	for _, presign := range []bool{true, false} {
		t.Run(fmt.Sprint("presign=", presign), func(t *testing.T) {
			st, bucket := s3Storage(t, map[string]any{
				"AWS_S3_PUBLIC_ENDPOINT_URL": proxy.URL,
				"AWS_QUERYSTRING_AUTH":       presign,
			})
			if !presign {
				srv.AllowPublicRead(t, bucket)
			}
			key, err := st.Save(t.Context(), "p q.txt", strings.NewReader("public"), nil)
			if err != nil {
				t.Fatal(err)
			}
			u, err := st.URL(t.Context(), key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u, proxy.URL+"/"+bucket+"/p%20q.txt") {
				t.Errorf("URL %s is not on the public endpoint %s", u, proxy.URL)
			}
			body, err := storagetest.HTTPFetch(t, u)
			if err != nil || string(body) != "public" {
				t.Errorf("Fetch = %q, %v", body, err)
			}
		})
	}
}

func TestS3PlainURLNeedsPublicBucket(t *testing.T) {
	st, _ := s3Storage(t, map[string]any{"AWS_QUERYSTRING_AUTH": false})
	key, err := st.Save(t.Context(), "private.txt", strings.NewReader("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.URL(t.Context(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u, "X-Amz-Signature") {
		t.Errorf("plain URL %s is signed", u)
	}
	if _, err := storagetest.HTTPFetch(t, u); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("anonymous GET of a private object: %v, want 403", err)
	}
}

func TestS3CredentialErrors(t *testing.T) {
	srv := s3Server(t)
	bucket := srv.NewBucket(t)
	tests := []struct {
		name string
		set  map[string]any
		want string
	}{
		{"wrong secret", map[string]any{"AWS_SECRET_ACCESS_KEY": "not-the-secret-0123456789"},
			"wrong credentials"},
		{"unknown access key", map[string]any{"AWS_ACCESS_KEY_ID": "NOSUCHKEY"},
			"wrong credentials"},
		{"wrong region", map[string]any{"AWS_S3_REGION_NAME": "eu-west-1"},
			`wrong region "eu-west-1": the bucket "` + bucket + `" is in region "us-east-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := storage.Config(srv.Config(bucket)).With(tt.set)
			st, err := s3store.NewFromConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Save(t.Context(), "a.txt", strings.NewReader("x"), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Save: %v, want an error saying %q", err, tt.want)
			}
			ok, err := storage.Exists(t.Context(), st, "a.txt")
			if ok || err == nil {
				t.Errorf("Exists = %v, %v; want an error, never false", ok, err)
			}
			_, err = st.Open(t.Context(), "a.txt")
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open: %v, want an error other than fs.ErrNotExist", err)
			}
			for _, secret := range []string{srv.SecretKey, "not-the-secret-0123456789"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}

	t.Run("anonymous", func(t *testing.T) {
		anon := s3.New(srv.Client().Options(), func(o *s3.Options) {
			o.Credentials = aws.AnonymousCredentials{}
		})
		st, err := s3store.New(anon, &s3store.Options{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := storage.Exists(t.Context(), st, "a.txt")
		if ok || err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("Exists = %v, %v; want an access denied error", ok, err)
		}
	})
}

func TestS3MissingBucket(t *testing.T) {
	cfg := s3Server(t).Config("no-such-bucket-here")
	st, err := s3store.NewFromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const want = `bucket "no-such-bucket-here" does not exist`
	for _, op := range []string{"save", "open", "stat", "list"} {
		var err error
		switch op {
		case "save":
			_, err = st.Save(t.Context(), "a.txt", strings.NewReader("x"), nil)
		case "open":
			_, err = st.Open(t.Context(), "a.txt")
		case "stat":
			_, err = storage.Exists(t.Context(), st, "a.txt")
		case "list":
			err = st.List(t.Context(), "", func(*storage.Attributes) error { return nil })
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %s", op, err, want)
		}
	}
}

func TestS3UnreachableEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	cfg := s3Server(t).Config("bkt")
	cfg["AWS_S3_ENDPOINT_URL"] = closed
	st, err := s3store.NewFromConfig(t.Context(), cfg, func(o *s3.Options) {
		o.RetryMaxAttempts = 1
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Save(t.Context(), "a.txt", strings.NewReader("x"), nil)
	if err == nil || !strings.Contains(err.Error(), "endpoint unreachable") {
		t.Errorf("Save: %v, want an error saying the endpoint is unreachable", err)
	}
	if ok, err := storage.Exists(t.Context(), st, "a.txt"); ok || err == nil ||
		!strings.Contains(err.Error(), "endpoint unreachable") {
		t.Errorf("Exists = %v, %v; want an unreachable error", ok, err)
	}
}

// checksumGuard is a proxy to the test server that answers 400 to any request bearing
// the SDK's default integrity protections, which several S3-compatible servers reject:
// x-amz-checksum-* or x-amz-sdk-checksum-algorithm headers, aws-chunked bodies and
// STREAMING-* payload signatures with trailers.
type checksumGuard struct {
	proxy    *httputil.ReverseProxy
	mu       sync.Mutex
	rejected []string
	passed   map[string]int // "PUT", "PUT part", "POST", ...
}

func newChecksumGuard(t *testing.T, endpoint string) (*httptest.Server, *checksumGuard) {
	target, _ := url.Parse(endpoint)
	g := &checksumGuard{proxy: httputil.NewSingleHostReverseProxy(target),
		passed: map[string]int{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, g
}

func (g *checksumGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if why := g.reject(r); why != "" {
		g.mu.Lock()
		g.rejected = append(g.rejected, r.Method+" "+r.URL.Path+": "+why)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest`+
			`</Code><Message>unsupported: %s</Message></Error>`, why)
		return
	}
	kind := r.Method
	if r.URL.Query().Has("partNumber") {
		kind += " part"
	}
	g.mu.Lock()
	g.passed[kind]++
	g.mu.Unlock()
	// The client signed the Host header of the proxy; the proxy keeps it.
	g.proxy.ServeHTTP(w, r)
}

func (g *checksumGuard) reject(r *http.Request) string {
	for name := range r.Header {
		n := strings.ToLower(name)
		if strings.HasPrefix(n, "x-amz-checksum-") || n == "x-amz-sdk-checksum-algorithm" ||
			n == "x-amz-trailer" {
			return "header " + name
		}
	}
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		return "aws-chunked content encoding"
	}
	if sha := r.Header.Get("X-Amz-Content-Sha256"); strings.HasPrefix(sha, "STREAMING-") {
		return "streaming payload " + sha
	}
	return ""
}

func TestS3ThirdPartyServerChecksums(t *testing.T) {
	srv := s3Server(t)
	guardSrv, g := newChecksumGuard(t, srv.Endpoint)

	// The SDK's defaults do not get through: the guard is a real test.
	bucket := srv.NewBucket(t)
	defaults := s3.New(s3.Options{
		Region:                     srv.Region,
		BaseEndpoint:               aws.String(guardSrv.URL),
		UsePathStyle:               true,
		Credentials:                srv.Client().Options().Credentials,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
	for name, body := range map[string]io.Reader{
		"seekable": strings.NewReader("x"), "stream": io.MultiReader(strings.NewReader("x")),
	} {
		_, err := defaults.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket,
			Key: aws.String("sdk-defaults.txt"), Body: body, ContentLength: aws.Int64(1)})
		if err == nil {
			t.Fatalf("%s body: the SDK's default checksums got through the guard", name)
		}
	}

	cfg := storage.Config(srv.Config(bucket)).With(map[string]any{
		"AWS_S3_ENDPOINT_URL": guardSrv.URL,
		"AWS_S3_PART_SIZE":    partSizeSetting,
	})
	st, err := s3store.NewFromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.rejected = nil
	g.mu.Unlock()

	sizes := map[string]int64{"small.txt": 1000, "multi.bin": 2*testPartSize + 4321}
	for name, size := range sizes {
		// Readers that cannot seek: the SDK would stream them with aws-chunked trailers.
		r := io.MultiReader(&patternReader{size: size})
		key, err := st.Save(t.Context(), name, r, nil)
		if err != nil {
			t.Fatalf("Save(%s) through the guard: %v", name, err)
		}
		rc, err := st.Open(t.Context(), key)
		if err != nil {
			t.Fatalf("Open(%s): %v", key, err)
		}
		h := sha256.New()
		n, _ := io.Copy(h, rc)
		rc.Close()
		if n != size || [sha256.Size]byte(h.Sum(nil)) != patternSum(size) {
			t.Errorf("%s: read back %d bytes, want %d, same content", key, n, size)
		}
	}
	if _, err := st.Save(t.Context(), "small.txt", strings.NewReader("again"),
		&storage.SaveOptions{Overwrite: true}); err != nil {
		t.Errorf("overwriting Save: %v", err)
	}
	if err := st.Delete(t.Context(), "small.txt"); err != nil {
		t.Errorf("Delete: %v", err)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.rejected) != 0 {
		t.Errorf("the guard rejected: %q", g.rejected)
	}
	if g.passed["PUT part"] != 3 || g.passed["PUT"] < 2 {
		t.Errorf("requests through the guard: %v; want 3 parts and the single PUTs", g.passed)
	}
}

// TestS3CABundle talks HTTPS to a server whose certificate only AWS_CA_BUNDLE names,
// with the SDK's HTTP client and with one of the caller's.
func TestS3CABundle(t *testing.T) {
	srv := s3server.StartTLS(t)
	t.Setenv("AWS_CA_BUNDLE", srv.CAFile)
	bucket := srv.NewBucket(t)
	cfg := srv.Config(bucket)

	clients := map[string][]func(*s3.Options){
		"SDK's client": nil,
		"own client": {func(o *s3.Options) {
			o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
		}},
	}
	for name, optFns := range clients {
		t.Run(name, func(t *testing.T) {
			st, err := s3store.NewFromConfig(t.Context(), cfg, optFns...)
			if err != nil {
				t.Fatalf("NewFromConfig: %v", err)
			}
			key, err := st.Save(t.Context(), "tls.txt", strings.NewReader("over tls"),
				&storage.SaveOptions{Overwrite: true})
			if err != nil {
				t.Fatalf("Save over TLS: %v", err)
			}
			rc, err := st.Open(t.Context(), key)
			if err != nil {
				t.Fatalf("Open over TLS: %v", err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != "over tls" {
				t.Errorf("read %q", b)
			}
		})
	}

	// Without the bundle, the same client fails on the certificate.
	bare := s3.New(srv.Client().Options(), func(o *s3.Options) { o.HTTPClient = &http.Client{} })
	st, err := s3store.New(bare, &s3store.Options{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(t.Context(), "tls.txt"); err == nil ||
		!strings.Contains(err.Error(), "certificate") {
		t.Errorf("Stat without the bundle: %v, want a certificate error", err)
	}
}

// sinkS3 is a loopback server that takes multipart uploads of any size and keeps
// nothing, so that a test can measure the client alone.
type sinkS3 struct{ received atomic.Int64 }

func (k *sinkS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusNotFound)
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		fmt.Fprint(w, `<ListBucketResult><Name>sink</Name><KeyCount>0</KeyCount>`+
			`<IsTruncated>false</IsTruncated></ListBucketResult>`)
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<InitiateMultipartUploadResult><Bucket>sink</Bucket><Key>k</Key>`+
			`<UploadId>up-1</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPut:
		n, _ := io.Copy(io.Discard, r.Body)
		k.received.Add(n)
		w.Header().Set("ETag", fmt.Sprintf(`"part-%s"`, q.Get("partNumber")))
	case r.Method == http.MethodPost && q.Has("uploadId"):
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `<CompleteMultipartUploadResult><Bucket>sink</Bucket><Key>k</Key>`+
			`<ETag>"done"</ETag></CompleteMultipartUploadResult>`)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotImplemented)
	}
}

// TestS3UploadMemory saves 1 GiB, read from a stream of unknown length, with the
// default part size and concurrency, and checks that the heap stays far under 64 MiB.
// The server keeps nothing: the test measures the client.
func TestS3UploadMemory(t *testing.T) {
	sink := &sinkS3{}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	st, err := s3store.NewFromConfig(t.Context(), storage.Config{
		"AWS_STORAGE_BUCKET_NAME": "sink",
		"AWS_S3_ENDPOINT_URL":     srv.URL,
		"AWS_ACCESS_KEY_ID":       "sink",
		"AWS_SECRET_ACCESS_KEY":   "sink-secret",
	})
	if err != nil {
		t.Fatal(err)
	}

	const size = 1 << 30
	// Twice: buffers pooled by earlier tests survive one collection.
	runtime.GC()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	start := time.Now()
	_, err = st.Save(t.Context(), "huge.bin", &patternReader{size: size}, nil)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	t.Logf("1 GiB saved in %v; heap %d MiB before, peak %d MiB",
		time.Since(start).Round(time.Millisecond), base.HeapAlloc>>20, peak.Load()>>20)
	if got := sink.received.Load(); got != size {
		t.Errorf("the server received %d bytes, want %d", got, size)
	}
	if p := peak.Load(); p > 48<<20 {
		t.Errorf("peak heap %d MiB during a 1 GiB Save, want far under 64 MiB", p>>20)
	}
}
