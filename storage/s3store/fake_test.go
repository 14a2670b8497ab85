package s3store

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The tests of this package talk to no server: a fake HTTP client answers the SDK's
// requests in process, so that the real request building and error parsing run.

const (
	testAccessKey = "AKIDTESTTESTTEST"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSecretKey"
)

// request is what the fake client saw of one request.
type request struct {
	Method string
	Path   string // escaped
	Query  string
	Header http.Header
	Body   []byte
}

// op names the S3 operation of a request.
func (r *request) op() string {
	q := r.Query
	switch {
	case r.Method == http.MethodPost && strings.Contains(q, "uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPut && strings.Contains(q, "partNumber="):
		return "UploadPart"
	case r.Method == http.MethodPost && strings.Contains(q, "uploadId="):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && strings.Contains(q, "uploadId="):
		return "AbortMultipartUpload"
	case r.Method == http.MethodGet && strings.Contains(q, "list-type=2"):
		return "ListObjectsV2"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodDelete:
		return "DeleteObject"
	}
	return r.Method
}

// reply is the fake server's answer.
type reply struct {
	status int
	header http.Header
	body   string
}

// fakeS3 is an s3.HTTPClient that records requests and answers with handle.
type fakeS3 struct {
	mu     sync.Mutex
	reqs   []*request
	handle func(*request) reply
}

func (f *fakeS3) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	r := &request{Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.RawQuery,
		Header: req.Header.Clone(), Body: body}
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()

	rep := reply{status: http.StatusOK}
	if f.handle != nil {
		rep = f.handle(r)
	}
	if rep.header == nil {
		rep.header = http.Header{}
	}
	return &http.Response{
		StatusCode:    rep.status,
		Status:        http.StatusText(rep.status),
		Header:        rep.header,
		Body:          io.NopCloser(strings.NewReader(rep.body)),
		ContentLength: int64(len(rep.body)),
		Request:       req,
	}, nil
}

// ops returns the operations seen, in order.
func (f *fakeS3) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reqs {
		out = append(out, r.op())
	}
	return out
}

// requests returns the requests of operation op.
func (f *fakeS3) requests(op string) []*request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*request
	for _, r := range f.reqs {
		if r.op() == op {
			out = append(out, r)
		}
	}
	return out
}

// fakeClient returns a path-style client of http://s3.test that sends its requests to
// f, without retries.
func fakeClient(f *fakeS3) *s3.Client {
	creds := credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, "")
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String("http://s3.test"),
		UsePathStyle:               true,
		Credentials:                creds,
		HTTPClient:                 f,
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// newFake returns a Storage of bucket "bkt" over a fake server answering with handle.
func newFake(t *testing.T, opts Options, handle func(*request) reply) (*Storage, *fakeS3) {
	t.Helper()
	f := &fakeS3{handle: handle}
	if opts.Bucket == "" {
		opts.Bucket = "bkt"
	}
	s, err := New(fakeClient(f), &opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.secrets = []string{testSecretKey}
	return s, f
}

// s3Error is an S3 XML error body.
func s3Error(code, message string) string {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>`)
	b.WriteString(code)
	b.WriteString(`</Code><Message>`)
	b.WriteString(message)
	b.WriteString(`</Message><RequestId>req-1</RequestId></Error>`)
	return b.String()
}

// emptyListing is the ListObjectsV2 answer of an empty bucket.
const emptyListing = `<ListBucketResult><Name>bkt</Name><KeyCount>0</KeyCount>` +
	`<IsTruncated>false</IsTruncated></ListBucketResult>`

// okS3 answers every operation as a healthy server does.
func okS3(r *request) reply {
	h := http.Header{}
	switch r.op() {
	case "CreateMultipartUpload":
		return reply{status: 200, body: `<InitiateMultipartUploadResult><Bucket>bkt</Bucket>` +
			`<Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>`}
	case "CompleteMultipartUpload":
		return reply{status: 200, body: `<CompleteMultipartUploadResult><Bucket>bkt</Bucket>` +
			`<Key>k</Key><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>`}
	case "AbortMultipartUpload", "DeleteObject":
		return reply{status: 204}
	case "HeadObject":
		return reply{status: 404}
	case "ListObjectsV2":
		return reply{status: 200, body: emptyListing}
	}
	h.Set("ETag", `"etag-`+r.op()+`"`)
	return reply{status: 200, header: h}
}
