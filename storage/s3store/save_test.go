package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gormfile/gormfile/storage"
)

func TestSaveHeaders(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		key    string
		so     *storage.SaveOptions
		header map[string]string // "" means absent
	}{
		{
			name: "type by name, no overwrite",
			key:  "docs/a b.txt",
			header: map[string]string{
				"Content-Type":     "text/plain; charset=utf-8",
				"If-None-Match":    "*",
				"Content-Encoding": "",
				"X-Amz-Acl":        "",
			},
		},
		{
			name: "compressed keeps its own type",
			key:  "data.csv.gz",
			header: map[string]string{
				"Content-Type":     "application/gzip",
				"Content-Encoding": "",
			},
		},
		{
			name: "given type, overwrite",
			key:  "x.bin",
			so:   &storage.SaveOptions{ContentType: "image/webp", Overwrite: true},
			header: map[string]string{
				"Content-Type":  "image/webp",
				"If-None-Match": "",
			},
		},
		{
			name: "storage parameters",
			opts: Options{DefaultACL: "public-read", CacheControl: "max-age=60",
				ContentDisposition: "inline", ServerSideEncryption: "AES256",
				StorageClass: "STANDARD_IA", Metadata: map[string]string{"a": "1", "b": "2"},
				Location: "/media/", Overwrite: true},
			key: "noext",
			header: map[string]string{
				"Content-Type":                 "application/octet-stream",
				"X-Amz-Acl":                    "public-read",
				"Cache-Control":                "max-age=60",
				"Content-Disposition":          "inline",
				"X-Amz-Server-Side-Encryption": "AES256",
				"X-Amz-Storage-Class":          "STANDARD_IA",
				"X-Amz-Meta-A":                 "1",
				"X-Amz-Meta-B":                 "2",
				"If-None-Match":                "",
			},
		},
		{
			name: "save parameters override",
			opts: Options{CacheControl: "max-age=60", Metadata: map[string]string{"a": "1",
				"b": "2"}},
			key: "p.png",
			so: &storage.SaveOptions{CacheControl: "no-store", ContentDisposition: "attachment",
				Metadata: map[string]string{"b": "3"}},
			header: map[string]string{
				"Content-Type":        "image/png",
				"Cache-Control":       "no-store",
				"Content-Disposition": "attachment",
				"X-Amz-Meta-A":        "1",
				"X-Amz-Meta-B":        "3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newFake(t, tt.opts, okS3)
			got, err := s.Save(context.Background(), tt.key, strings.NewReader("body"), tt.so)
			if err != nil || got != tt.key {
				t.Fatalf("Save = %q, %v; want %q", got, err, tt.key)
			}
			puts := f.requests("PutObject")
			if len(puts) != 1 {
				t.Fatalf("requests %q, want one PutObject", f.ops())
			}
			r := puts[0]
			wantPath := "/bkt/" + EscapeKey(storage.JoinLocation(s.location, tt.key))
			if r.Path != wantPath || string(r.Body) != "body" {
				t.Errorf("PUT %s %q, want %s %q", r.Path, r.Body, wantPath, "body")
			}
			for h, want := range tt.header {
				if got := r.Header.Get(h); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			for h := range r.Header {
				if strings.HasPrefix(strings.ToLower(h), "x-amz-checksum-") ||
					strings.EqualFold(h, "X-Amz-Sdk-Checksum-Algorithm") {
					t.Errorf("checksum header %s sent", h)
				}
			}
		})
	}
}

func TestSaveTakenKey(t *testing.T) {
	taken := map[string]bool{"/bkt/m/a/report.txt": true}
	var tries atomic.Int32
	s, f := newFake(t, Options{Location: "m"}, func(r *request) reply {
		if r.op() == "PutObject" {
			tries.Add(1)
			if taken[r.Path] || tries.Load() < 3 {
				return reply{status: 412, body: s3Error("PreconditionFailed", "taken")}
			}
		}
		return okS3(r)
	})
	got, err := s.Save(context.Background(), "a/report.txt", strings.NewReader("content"),
		&storage.SaveOptions{MaxKeyLength: 30})
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	if !regexp.MustCompile(`^a/report_[A-Za-z0-9]{7}\.txt$`).MatchString(got) || len(got) > 30 {
		t.Errorf("Save = %q, want an alternative name of a/report.txt", got)
	}
	puts := f.requests("PutObject")
	if len(puts) != 3 {
		t.Fatalf("%d PutObject requests, want 3", len(puts))
	}
	for i, r := range puts {
		if string(r.Body) != "content" || r.Header.Get("If-None-Match") != "*" {
			t.Errorf("try %d: body %q, If-None-Match %q", i+1, r.Body,
				r.Header.Get("If-None-Match"))
		}
	}
	if last := puts[2].Path; last != "/bkt/m/"+EscapeKey(got) {
		t.Errorf("last PUT %s, want the returned key %q under the location", last, got)
	}
}

func TestSaveNoFreeName(t *testing.T) {
	s, f := newFake(t, Options{}, func(r *request) reply {
		return reply{status: 412, body: s3Error("PreconditionFailed", "taken")}
	})
	_, err := s.Save(context.Background(), "a.txt", strings.NewReader("x"), nil)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save = %v, want fs.ErrExist", err)
	}
	if n := len(f.requests("PutObject")); n != maxNameTries {
		t.Errorf("%d tries, want %d", n, maxNameTries)
	}
}

// errReader yields data, then fails with err.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestSaveReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"fails at once", &errReader{err: boom}, boom},
		{"fails half way", &errReader{data: []byte("half"), err: boom}, boom},
		// A reader's own io.ErrUnexpectedEOF is a failure, never the end of the content.
		{"unexpected EOF", &errReader{data: []byte("truncated"), err: io.ErrUnexpectedEOF},
			io.ErrUnexpectedEOF},
		{"no progress", &errReader{data: []byte("x"), err: nil}, io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newFake(t, Options{}, okS3)
			_, err := s.Save(context.Background(), "a.txt", tt.r, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("Save = %v, want %v", err, tt.want)
			}
			if ops := f.ops(); len(ops) != 0 {
				t.Errorf("requests sent: %q, want none", ops)
			}
		})
	}
}

// multipartContent returns n bytes that differ from part to part.
func multipartContent(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i / 1000)
	}
	return b
}

func TestSaveMultipart(t *testing.T) {
	const partSize = MinPartSize
	data := multipartContent(2*partSize + 1234)
	var inFlight, maxInFlight atomic.Int32
	s, f := newFake(t, Options{PartSize: partSize, Concurrency: 2}, func(r *request) reply {
		if r.op() == "UploadPart" {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); {
				m = maxInFlight.Load()
			}
			time.Sleep(20 * time.Millisecond)
		}
		return okS3(r)
	})
	got, err := s.Save(context.Background(), "big.bin", io.MultiReader(bytes.NewReader(data)), nil)
	if err != nil || got != "big.bin" {
		t.Fatalf("Save = %q, %v", got, err)
	}
	// The first 404 of a HEAD is checked once with a listing: is the bucket there?
	want := []string{"HeadObject", "ListObjectsV2", "CreateMultipartUpload",
		"UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"}
	if ops := f.ops(); !slices.Equal(ops, want) {
		t.Errorf("requests %q, want %q", ops, want)
	}
	var joined []byte
	parts := f.requests("UploadPart")
	slices.SortFunc(parts, func(a, b *request) int { return strings.Compare(a.Query, b.Query) })
	for _, p := range parts {
		joined = append(joined, p.Body...)
	}
	if !bytes.Equal(joined, data) {
		t.Errorf("parts hold %d bytes, want the %d bytes saved, in order", len(joined), len(data))
	}
	if m := maxInFlight.Load(); m > 2 {
		t.Errorf("%d parts in flight, want at most the concurrency, 2", m)
	}
	done := f.requests("CompleteMultipartUpload")[0]
	if done.Header.Get("If-None-Match") != "*" {
		t.Errorf("CompleteMultipartUpload without If-None-Match: *")
	}
	for _, n := range []string{"1", "2", "3"} {
		if !bytes.Contains(done.Body, []byte("<PartNumber>"+n+"</PartNumber>")) {
			t.Errorf("CompleteMultipartUpload body lacks part %s: %s", n, done.Body)
		}
	}

	// Later saves know the bucket is there.
	if _, err := s.Save(context.Background(), "big2.bin", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests("ListObjectsV2")); n != 1 {
		t.Errorf("%d listings, want 1", n)
	}
}

func TestSaveMultipartFailures(t *testing.T) {
	const partSize = MinPartSize
	boom := errors.New("boom")
	tests := []struct {
		name    string
		r       func() io.Reader
		answer  func(*request) (reply, bool)
		wantErr func(error) bool
		wantOps []string // operations that must appear
	}{
		{
			name: "reader fails after two parts",
			r: func() io.Reader {
				return &errReader{data: multipartContent(2*partSize + 10), err: boom}
			},
			wantErr: func(err error) bool { return errors.Is(err, boom) },
			wantOps: []string{"AbortMultipartUpload"},
		},
		{
			name: "part fails",
			r:    func() io.Reader { return bytes.NewReader(multipartContent(3 * partSize)) },
			answer: func(r *request) (reply, bool) {
				if r.op() == "UploadPart" && strings.Contains(r.Query, "partNumber=2") {
					return reply{status: 403, body: s3Error("AccessDenied", "no")}, true
				}
				return reply{}, false
			},
			wantErr: func(err error) bool { return strings.Contains(err.Error(), "part 2") },
			wantOps: []string{"AbortMultipartUpload"},
		},
		{
			name: "name taken during the upload",
			r:    func() io.Reader { return bytes.NewReader(multipartContent(2 * partSize)) },
			answer: func(r *request) (reply, bool) {
				if r.op() == "CompleteMultipartUpload" {
					return reply{status: 412, body: s3Error("PreconditionFailed", "taken")}, true
				}
				return reply{}, false
			},
			wantErr: func(err error) bool {
				return errors.Is(err, fs.ErrExist) &&
					strings.Contains(err.Error(), "taken by another writer during the upload")
			},
			wantOps: []string{"CompleteMultipartUpload", "AbortMultipartUpload"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newFake(t, Options{PartSize: partSize}, func(r *request) reply {
				if tt.answer != nil {
					if rep, ok := tt.answer(r); ok {
						return rep
					}
				}
				return okS3(r)
			})
			_, err := s.Save(context.Background(), "big.bin", tt.r(), nil)
			if err == nil || !tt.wantErr(err) {
				t.Fatalf("Save error = %v", err)
			}
			ops := f.ops()
			for _, op := range tt.wantOps {
				if !slices.Contains(ops, op) {
					t.Errorf("requests %q lack %s", ops, op)
				}
			}
			if tt.name != "name taken during the upload" &&
				slices.Contains(ops, "CompleteMultipartUpload") {
				t.Errorf("failed upload was completed: %q", ops)
			}
		})
	}
}

func TestSaveMultipartCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var aborted atomic.Bool
	s, f := newFake(t, Options{PartSize: MinPartSize, Overwrite: true}, func(r *request) reply {
		switch r.op() {
		case "UploadPart":
			cancel()
		case "AbortMultipartUpload":
			aborted.Store(true)
		}
		return okS3(r)
	})
	_, err := s.Save(ctx, "big.bin", bytes.NewReader(multipartContent(4*MinPartSize)), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Save = %v, want context.Canceled", err)
	}
	if !aborted.Load() {
		t.Errorf("the upload was not aborted after the cancel: %q", f.ops())
	}
}

func TestPartSize(t *testing.T) {
	s := &Storage{opts: Options{PartSize: 8 << 20}}
	tests := []struct {
		size int64
		want int64
	}{
		{0, 8 << 20},
		{-1, 8 << 20},
		{1 << 30, 8 << 20},
		{10000 * 8 << 20, 8 << 20},
		{10000*8<<20 + 1, 9 << 20},
		{1 << 40, 105 << 20},
		{100 << 40, MaxPartSize},
	}
	for _, tt := range tests {
		got := s.partSize(tt.size)
		if got != tt.want {
			t.Errorf("partSize(%d) = %d, want %d", tt.size, got, tt.want)
		}
		if tt.size > 0 && got < MaxPartSize && (tt.size+got-1)/got > maxParts {
			t.Errorf("partSize(%d) = %d needs more than %d parts", tt.size, got, maxParts)
		}
	}
}

func TestOpenRangeHeaders(t *testing.T) {
	tests := []struct {
		offset, length int64
		want           string
	}{
		{0, -1, ""},
		{0, 10, "bytes=0-9"},
		{5, -1, "bytes=5-"},
		{5, 1, "bytes=5-5"},
	}
	for _, tt := range tests {
		s, f := newFake(t, Options{}, func(r *request) reply { return reply{status: 200} })
		rc, err := s.OpenRange(context.Background(), "a.txt", tt.offset, tt.length)
		if err != nil {
			t.Fatalf("OpenRange(%d, %d): %v", tt.offset, tt.length, err)
		}
		rc.Close()
		if got := f.reqs[0].Header.Get("Range"); got != tt.want {
			t.Errorf("OpenRange(%d, %d): Range %q, want %q", tt.offset, tt.length, got, tt.want)
		}
	}
}

func TestOpenRangePastEnd(t *testing.T) {
	tests := []struct {
		size, offset, length int64
		wantErr              bool
	}{
		{10, 10, 5, false},
		{10, 12, -1, false},
		{0, 0, 5, false}, // an empty object has no satisfiable range
		{10, 3, 5, true}, // a 416 inside the object is the server's error
	}
	for _, tt := range tests {
		s, _ := newFake(t, Options{}, func(r *request) reply {
			if r.Method == http.MethodHead {
				h := http.Header{}
				h.Set("Content-Length", fmt.Sprint(tt.size))
				return reply{status: 200, header: h}
			}
			return reply{status: 416, body: s3Error("InvalidRange", "not satisfiable")}
		})
		rc, err := s.OpenRange(context.Background(), "a.txt", tt.offset, tt.length)
		if tt.wantErr {
			if err == nil {
				rc.Close()
				t.Errorf("OpenRange(%d, %d) of %d bytes: no error", tt.offset, tt.length, tt.size)
			}
			continue
		}
		if err != nil {
			t.Fatalf("OpenRange(%d, %d) of %d bytes: %v", tt.offset, tt.length, tt.size, err)
		}
		if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
			t.Errorf("OpenRange(%d, %d) = %q, %v; want empty", tt.offset, tt.length, b, err)
		}
		rc.Close()
	}
}

func TestSaveToldSize(t *testing.T) {
	const partSize = MinPartSize
	tests := []struct {
		name    string
		told    int64
		content int
		want    []string
	}{
		{"exact", 1000, 1000, []string{"PutObject"}},
		{"shorter than told", 1000, 10, []string{"PutObject"}},
		{"longer than told", 10, 1000, []string{"PutObject"}},
		{"longer than a part", 10, partSize + 10, []string{"HeadObject", "ListObjectsV2",
			"CreateMultipartUpload", "UploadPart", "UploadPart", "CompleteMultipartUpload"}},
		// Untold sizes start in a small buffer of headSize bytes.
		{"untold, small", 0, 10, []string{"PutObject"}},
		{"untold, empty", -1, 0, []string{"PutObject"}},
		{"untold, the first read's size", 0, headSize, []string{"PutObject"}},
		{"untold, longer than the first read", 0, headSize + 1, []string{"PutObject"}},
		// Above 1 MiB an exclusive PutObject first asks whether the key is free.
		{"untold, a part", 0, partSize, []string{"HeadObject", "ListObjectsV2", "PutObject"}},
		{"untold, longer than a part", 0, partSize + 10, []string{"HeadObject",
			"ListObjectsV2", "CreateMultipartUpload", "UploadPart", "UploadPart",
			"CompleteMultipartUpload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newFake(t, Options{PartSize: partSize}, okS3)
			data := multipartContent(tt.content)
			_, err := s.Save(context.Background(), "a.bin", bytes.NewReader(data),
				&storage.SaveOptions{Size: tt.told})
			if err != nil {
				t.Fatal(err)
			}
			if ops := f.ops(); !slices.Equal(ops, tt.want) {
				t.Fatalf("requests %q, want %q", ops, tt.want)
			}
			parts := f.requests("UploadPart")
			slices.SortFunc(parts, func(a, b *request) int { return strings.Compare(a.Query, b.Query) })
			var sent []byte
			for _, r := range append(f.requests("PutObject"), parts...) {
				sent = append(sent, r.Body...)
			}
			if !bytes.Equal(sent, data) {
				t.Errorf("sent %d bytes, want the %d saved", len(sent), len(data))
			}
		})
	}
}
