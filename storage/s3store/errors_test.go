package s3store

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gormfile/gormfile/storage"
)

// runOp runs one operation of s on key and returns its error.
func runOp(ctx context.Context, s *Storage, op, key string) error {
	switch op {
	case "open":
		rc, err := s.Open(ctx, key)
		if err == nil {
			rc.Close()
		}
		return err
	case "stat":
		_, err := s.Stat(ctx, key)
		return err
	case "save":
		_, err := s.Save(ctx, key, strings.NewReader("data"), &storage.SaveOptions{Overwrite: true})
		return err
	case "delete":
		return s.Delete(ctx, key)
	case "list":
		return s.List(ctx, "", func(*storage.Attributes) error { return nil })
	}
	panic("unknown op " + op)
}

func TestErrorMapping(t *testing.T) {
	withHeader := func(k, v string) http.Header {
		h := http.Header{}
		h.Set(k, v)
		return h
	}
	tests := []struct {
		name     string
		op       string
		object   reply // the answer to the object's request
		bucket   reply // the answer to HeadBucket
		want     []string
		notExist bool
		exist    bool
	}{
		{
			name:     "GET NoSuchKey",
			op:       "open",
			object:   reply{status: 404, body: s3Error("NoSuchKey", "The specified key does not exist.")},
			notExist: true,
		},
		{
			name:     "HEAD 404",
			op:       "stat",
			object:   reply{status: 404},
			notExist: true,
		},
		{
			name:   "HEAD 404 of a missing bucket",
			op:     "stat",
			object: reply{status: 404},
			bucket: reply{status: 404, body: s3Error("NoSuchBucket", "no bucket")},
			want:   []string{`bucket "bkt" does not exist`},
		},
		{
			name:     "HEAD 404 when the listing is denied",
			op:       "stat",
			object:   reply{status: 404},
			bucket:   reply{status: 403, body: s3Error("AccessDenied", "no")},
			notExist: true,
		},
		{
			name:   "HEAD 404 of an unknown user (versitygw)",
			op:     "stat",
			object: reply{status: 404},
			bucket: reply{status: 404, body: s3Error("XAdminUserNotFound", "no user")},
			want:   []string{"wrong credentials"},
		},
		{
			name:   "HEAD 403 with a wrong secret",
			op:     "stat",
			object: reply{status: 403},
			bucket: reply{status: 403, body: s3Error("SignatureDoesNotMatch", "bad sig")},
			want:   []string{"wrong credentials"},
		},
		{
			name:   "HEAD 400 in the wrong region",
			op:     "stat",
			object: reply{status: 400},
			bucket: reply{status: 400, body: s3Error("AuthorizationHeaderMalformed",
				"the region 'us-east-1' is wrong; expecting 'eu-west-3'")},
			want: []string{`wrong region "us-east-1"`, `"eu-west-3"`},
		},
		{
			name:   "GET 404 of an unknown user (versitygw)",
			op:     "open",
			object: reply{status: 404, body: s3Error("XAdminUserNotFound", "no user")},
			want:   []string{"wrong credentials"},
		},
		{
			name:   "GET NoSuchBucket",
			op:     "open",
			object: reply{status: 404, body: s3Error("NoSuchBucket", "The bucket does not exist")},
			want:   []string{`bucket "bkt" does not exist`},
		},
		{
			name:   "list NoSuchBucket",
			op:     "list",
			object: reply{status: 404, body: s3Error("NoSuchBucket", "The bucket does not exist")},
			want:   []string{`bucket "bkt" does not exist`},
		},
		{
			name:   "HEAD 403",
			op:     "stat",
			object: reply{status: 403},
			want:   []string{`access denied to bucket "bkt"`},
		},
		{
			name:   "GET AccessDenied",
			op:     "open",
			object: reply{status: 403, body: s3Error("AccessDenied", "Access Denied")},
			want:   []string{"access denied"},
		},
		{
			name:   "PUT AccessDenied",
			op:     "save",
			object: reply{status: 403, body: s3Error("AccessDenied", "Access Denied")},
			want:   []string{"access denied"},
		},
		{
			name: "SignatureDoesNotMatch",
			op:   "open",
			object: reply{status: 403, body: s3Error("SignatureDoesNotMatch",
				"The request signature we calculated does not match")},
			want: []string{"wrong credentials", "SignatureDoesNotMatch"},
		},
		{
			name: "InvalidAccessKeyId",
			op:   "delete",
			object: reply{status: 403, body: s3Error("InvalidAccessKeyId",
				"The AWS Access Key Id you provided does not exist in our records.")},
			want: []string{"wrong credentials", "InvalidAccessKeyId"},
		},
		{
			name: "secret echoed by the server",
			op:   "open",
			object: reply{status: 403, body: s3Error("SignatureDoesNotMatch",
				"string to sign was made with "+testSecretKey)},
			want: []string{"wrong credentials", "[redacted]"},
		},
		{
			name: "AuthorizationHeaderMalformed",
			op:   "save",
			object: reply{status: 400, body: s3Error("AuthorizationHeaderMalformed",
				"The authorization header is malformed; the region 'us-east-1' is wrong; "+
					"expecting 'eu-west-1'")},
			want: []string{`wrong region "us-east-1"`, `region "eu-west-1"`},
		},
		{
			name: "PermanentRedirect",
			op:   "open",
			object: reply{status: 301, header: withHeader("X-Amz-Bucket-Region", "ap-south-1"),
				body: s3Error("PermanentRedirect", "The bucket you are attempting to access "+
					"must be addressed using the specified endpoint.")},
			want: []string{"wrong region", `"ap-south-1"`},
		},
		{
			name:   "HEAD 301",
			op:     "stat",
			object: reply{status: 301, header: withHeader("X-Amz-Bucket-Region", "eu-north-1")},
			want:   []string{"wrong region", `"eu-north-1"`},
		},
		{
			name:   "HEAD 400 naming the region",
			op:     "stat",
			object: reply{status: 400, header: withHeader("X-Amz-Bucket-Region", "eu-central-1")},
			want:   []string{"wrong region", `"eu-central-1"`},
		},
		{
			name:   "PermanentRedirect without a region",
			op:     "open",
			object: reply{status: 301, body: s3Error("PermanentRedirect", "Use the endpoint.")},
			want:   []string{"wrong region", "did not say"},
		},
		{
			name:   "PreconditionFailed",
			op:     "save",
			object: reply{status: 412, body: s3Error("PreconditionFailed", "At least one...")},
			exist:  true,
		},
		{
			name:   "other errors pass through",
			op:     "open",
			object: reply{status: 500, body: s3Error("InternalError", "We encountered an error")},
			want:   []string{"InternalError"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newFake(t, Options{}, func(r *request) reply {
				if r.op() == "ListObjectsV2" && tt.op != "list" {
					if tt.bucket.status == 0 {
						return reply{status: 200, body: emptyListing}
					}
					return tt.bucket
				}
				return tt.object
			})
			const key = "dir/obj.txt"
			err := runOp(context.Background(), s, tt.op, key)
			if tt.op == "delete" && tt.notExist {
				if err != nil {
					t.Fatalf("Delete of a missing object: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: no error", tt.op)
			}
			t.Log(err)
			var se *storage.Error
			if !errors.As(err, &se) || se.Backend != "s3" || se.Op != tt.op {
				t.Errorf("error %v (%T) is not the *storage.Error of s3 %s", err, err, tt.op)
			}
			if tt.op != "list" && (se == nil || se.Key != key) {
				t.Errorf("error %v does not name the key", err)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = %v, want %v", err, got, tt.notExist)
			}
			if got := errors.Is(err, fs.ErrExist); got != tt.exist {
				t.Errorf("errors.Is(%v, fs.ErrExist) = %v, want %v", err, got, tt.exist)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testSecretKey) {
				t.Errorf("error %q holds the secret key", err)
			}
		})
	}
}

func TestExistsOnDenied(t *testing.T) {
	s, _ := newFake(t, Options{}, func(*request) reply { return reply{status: 403} })
	ok, err := storage.Exists(context.Background(), s, "a.txt")
	if ok || err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Exists on 403 = %v, %v; want false and an access denied error", ok, err)
	}
}

func TestDeleteMissing(t *testing.T) {
	s, _ := newFake(t, Options{}, func(*request) reply {
		return reply{status: 404, body: s3Error("NoSuchKey", "no such key")}
	})
	if err := s.Delete(context.Background(), "a.txt"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

// failingHTTP is an HTTP client whose requests never reach a server.
type failingHTTP struct{ err error }

func (f failingHTTP) Do(*http.Request) (*http.Response, error) { return nil, f.err }

func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	o := fakeClient(&fakeS3{}).Options()
	o.HTTPClient = failingHTTP{err: refused}
	s, err := New(s3.New(o), &Options{Bucket: "bkt"})
	if err != nil {
		t.Fatal(err)
	}

	for _, op := range []string{"open", "stat", "save", "delete", "list"} {
		err := runOp(context.Background(), s, op, "a.txt")
		if err == nil || !strings.Contains(err.Error(), "endpoint unreachable") {
			t.Errorf("%s: error %v, want one saying the endpoint is unreachable", op, err)
		}
		if errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: a network error satisfies fs.ErrNotExist", op)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	s, _ := newFake(t, Options{}, okS3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, op := range []string{"open", "stat", "save", "delete", "list"} {
		if err := runOp(ctx, s, op, "a.txt"); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", op, err)
		}
	}
}

// TestExplainBuiltErrors feeds explain errors shaped as the SDK shapes them.
func TestExplainBuiltErrors(t *testing.T) {
	s := &Storage{opts: Options{Bucket: "bkt"}, region: "us-east-1",
		secrets: []string{testSecretKey}}
	apiErr := func(status int, code, msg string) error {
		return &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
			Err: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status,
					Header: http.Header{}}},
				Err: &smithy.GenericAPIError{Code: code, Message: msg},
			}}
	}
	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"NoSuchKey", apiErr(404, "NoSuchKey", "gone"), "", fs.ErrNotExist},
		{"404 without code", apiErr(404, "", ""), "", fs.ErrNotExist},
		{"403", apiErr(403, "AccessDenied", "no"), "access denied", nil},
		{"ExpiredToken", apiErr(400, "ExpiredToken", "expired"), "wrong credentials", nil},
		{"send error", &smithy.OperationError{Err: &smithyhttp.RequestSendError{
			Err: &net.DNSError{Err: "no such host", Name: "s3.invalid"}}},
			"endpoint unreachable", nil},
		{"deadline", &smithy.OperationError{Err: context.DeadlineExceeded}, "",
			context.DeadlineExceeded},
		{"reader", io.ErrUnexpectedEOF, "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.fail("open", "k", tt.err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if tt.is != fs.ErrNotExist && errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v satisfies fs.ErrNotExist", err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("%v does not wrap the SDK's error", err)
			}
		})
	}
}
