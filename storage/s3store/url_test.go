package s3store

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/storage"
)

// awkwardKey holds every character that a URL path must escape, and Unicode.
const awkwardKey = "dir/a b+c'd#e?f%g;h&i=j@k é.txt"

const awkwardEscaped = "dir/a%20b%2Bc%27d%23e%3Ff%25g%3Bh%26i%3Dj%40k%20%C3%A9.txt"

func TestEscapeKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"a.txt", "a.txt"},
		{"dir/sub/file-name_1~.bin", "dir/sub/file-name_1~.bin"},
		{"with space.txt", "with%20space.txt"},
		{"plus+sign", "plus%2Bsign"},
		{"quote's", "quote%27s"},
		{`dq"`, "dq%22"},
		{"hash#", "hash%23"},
		{"q?", "q%3F"},
		{"pct%20", "pct%2520"},
		{"café/ファイル", "caf%C3%A9/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB"},
		{"😀", "%F0%9F%98%80"},
		{awkwardKey, awkwardEscaped},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := EscapeKey(tt.key); got != tt.want {
				t.Errorf("EscapeKey(%q) = %q, want %q", tt.key, got, tt.want)
			}
			// What the escaping gives back is the key, once unescaped.
			if back, err := url.PathUnescape(EscapeKey(tt.key)); err != nil || back != tt.key {
				t.Errorf("PathUnescape(EscapeKey(%q)) = %q, %v", tt.key, back, err)
			}
		})
	}
}

// clientFor returns a client with no network use for the URL tests.
func clientFor(region, endpoint string, pathStyle bool) *s3.Client {
	o := s3.Options{
		Region:       region,
		UsePathStyle: pathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
	}
	if endpoint != "" {
		o.BaseEndpoint = aws.String(endpoint)
	}
	return s3.New(o)
}

func TestPlainURL(t *testing.T) {
	local := clientFor("us-east-1", "http://127.0.0.1:9000", true)
	tests := []struct {
		name   string
		client *s3.Client
		opts   Options
		key    string
		want   string
	}{
		{
			name:   "endpoint, path style",
			client: local,
			opts:   Options{Bucket: "bkt"},
			key:    awkwardKey,
			want:   "http://127.0.0.1:9000/bkt/" + awkwardEscaped,
		},
		{
			name:   "location with slashes",
			client: local,
			opts:   Options{Bucket: "bkt", Location: "/media/"},
			key:    "a b.txt",
			want:   "http://127.0.0.1:9000/bkt/media/a%20b.txt",
		},
		{
			name:   "bare location",
			client: local,
			opts:   Options{Bucket: "bkt", Location: "media"},
			key:    "a.txt",
			want:   "http://127.0.0.1:9000/bkt/media/a.txt",
		},
		{
			name:   "location with empty segments",
			client: local,
			opts:   Options{Bucket: "bkt", Location: "media//x/"},
			key:    "a.txt",
			want:   "http://127.0.0.1:9000/bkt/media/x/a.txt",
		},
		{
			name:   "location with unicode",
			client: local,
			opts:   Options{Bucket: "bkt", Location: "médias"},
			key:    "a.txt",
			want:   "http://127.0.0.1:9000/bkt/m%C3%A9dias/a.txt",
		},
		{
			name:   "endpoint with a path",
			client: clientFor("us-east-1", "https://gw.example.com/s3/", true),
			opts:   Options{Bucket: "bkt"},
			key:    "a.txt",
			want:   "https://gw.example.com/s3/bkt/a.txt",
		},
		{
			name:   "endpoint, virtual-hosted",
			client: clientFor("us-east-1", "http://minio.example.com:9000", false),
			opts:   Options{Bucket: "bkt", Location: "m"},
			key:    "a+b.txt",
			want:   "http://bkt.minio.example.com:9000/m/a%2Bb.txt",
		},
		{
			name:   "AWS, virtual-hosted",
			client: clientFor("eu-west-1", "", false),
			opts:   Options{Bucket: "my-bucket", Location: "/media/"},
			key:    awkwardKey,
			want:   "https://my-bucket.s3.eu-west-1.amazonaws.com/media/" + awkwardEscaped,
		},
		{
			name:   "public endpoint",
			client: clientFor("us-east-1", "http://minio:9000", true),
			opts:   Options{Bucket: "bkt", PublicEndpoint: "https://files.example.com"},
			key:    "a.txt",
			want:   "https://files.example.com/bkt/a.txt",
		},
		{
			name:   "custom domain",
			client: local,
			opts:   Options{Bucket: "bkt", Location: "media/", CustomDomain: "cdn.example.com"},
			key:    awkwardKey,
			want:   "https://cdn.example.com/media/" + awkwardEscaped,
		},
		{
			name:   "custom domain, http, port and path",
			client: local,
			opts: Options{Bucket: "bkt", CustomDomain: "cdn.example.com:8080/static/",
				URLProtocol: "http:"},
			key:  "a.txt",
			want: "http://cdn.example.com:8080/static/a.txt",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.client, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.URL(context.Background(), tt.key, nil)
			if err != nil {
				t.Fatalf("URL: %v", err)
			}
			if got != tt.want {
				t.Errorf("URL(%q)\n got %s\nwant %s", tt.key, got, tt.want)
			}
			u, err := url.Parse(got)
			if err != nil || !strings.HasSuffix(u.Path, "/"+tt.key) || u.Fragment != "" {
				t.Errorf("URL %s does not parse back to the key: %v", got, err)
			}

			// The location's address is built once and kept: another key gets it too.
			const second = "2nd/b c+d.txt"
			want2 := strings.TrimSuffix(tt.want, EscapeKey(tt.key)) + EscapeKey(second)
			if got2, err := s.URL(context.Background(), second, nil); err != nil || got2 != want2 {
				t.Errorf("URL(%q) = %q, %v; want %q", second, got2, err, want2)
			}
		})
	}
}

func TestPresignedURL(t *testing.T) {
	local := clientFor("us-east-1", "http://127.0.0.1:9000", true)
	tests := []struct {
		name     string
		client   *s3.Client
		opts     Options
		uo       *storage.URLOptions
		wantBase string // scheme, host and escaped path
		expires  string
		disp     string
	}{
		{
			name:     "endpoint",
			client:   local,
			opts:     Options{Bucket: "bkt", Location: "/media/"},
			wantBase: "http://127.0.0.1:9000/bkt/media/" + awkwardEscaped,
			expires:  "3600",
		},
		{
			name:     "expiry and download name",
			client:   local,
			opts:     Options{Bucket: "bkt", QuerystringExpire: time.Minute},
			uo:       &storage.URLOptions{Expires: 10 * time.Minute, DownloadName: "résumé.pdf"},
			wantBase: "http://127.0.0.1:9000/bkt/" + awkwardEscaped,
			expires:  "600",
			disp:     `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
		},
		{
			name:     "storage's expiry",
			client:   local,
			opts:     Options{Bucket: "bkt", QuerystringExpire: time.Minute},
			wantBase: "http://127.0.0.1:9000/bkt/" + awkwardEscaped,
			expires:  "60",
		},
		{
			name:     "public endpoint",
			client:   clientFor("us-east-1", "http://minio:9000", true),
			opts:     Options{Bucket: "bkt", PublicEndpoint: "https://files.example.com"},
			wantBase: "https://files.example.com/bkt/" + awkwardEscaped,
			expires:  "3600",
		},
		{
			name:     "AWS",
			client:   clientFor("eu-west-1", "", false),
			opts:     Options{Bucket: "my-bucket"},
			wantBase: "https://my-bucket.s3.eu-west-1.amazonaws.com/" + awkwardEscaped,
			expires:  "3600",
		},
		{
			name:     "custom domain keeps the signature",
			client:   clientFor("eu-west-1", "", false),
			opts:     Options{Bucket: "my-bucket", Location: "m", CustomDomain: "cdn.example.com"},
			wantBase: "https://cdn.example.com/m/" + awkwardEscaped,
			expires:  "3600",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.QuerystringAuth = true
			s, err := New(tt.client, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.URL(context.Background(), awkwardKey, tt.uo)
			if err != nil {
				t.Fatalf("URL: %v", err)
			}
			base, rawQuery, _ := strings.Cut(got, "?")
			if base != tt.wantBase {
				t.Errorf("URL base\n got %s\nwant %s", base, tt.wantBase)
			}
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				t.Fatalf("query of %s: %v", got, err)
			}
			if q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
				t.Errorf("URL %s is not signed", got)
			}
			if !strings.HasPrefix(q.Get("X-Amz-Credential"), testAccessKey+"/") {
				t.Errorf("X-Amz-Credential = %q", q.Get("X-Amz-Credential"))
			}
			if q.Get("X-Amz-Expires") != tt.expires {
				t.Errorf("X-Amz-Expires = %q, want %q", q.Get("X-Amz-Expires"), tt.expires)
			}
			if d := q.Get("response-content-disposition"); d != tt.disp {
				t.Errorf("response-content-disposition = %q, want %q", d, tt.disp)
			}
			if strings.Contains(got, testSecretKey) {
				t.Errorf("URL holds the secret key")
			}
		})
	}
}

func TestURLExpiryLimit(t *testing.T) {
	s, err := New(clientFor("us-east-1", "http://127.0.0.1:9000", true),
		&Options{Bucket: "bkt", QuerystringAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.URL(context.Background(), "a.txt", &storage.URLOptions{Expires: 8 * 24 * time.Hour})
	if err == nil || !strings.Contains(err.Error(), "7 days") {
		t.Errorf("URL with an 8-day expiry: error = %v, want one about the 7-day limit", err)
	}
	if _, err := s.URL(context.Background(), "../x", nil); err == nil {
		t.Errorf("URL of an invalid key: no error")
	}
}

func TestAttachment(t *testing.T) {
	tests := []struct{ name, want string }{
		{"report.pdf", `attachment; filename="report.pdf"`},
		{"a b.txt", `attachment; filename="a b.txt"`},
		{"résumé.pdf", `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`},
		{`a"b\c.txt`, `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%22b%5Cc.txt`},
		{"100%.txt", `attachment; filename="100%.txt"; filename*=UTF-8''100%25.txt`},
		{"日本.txt", `attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Attachment(tt.name); got != tt.want {
				t.Errorf("Attachment(%q)\n got %s\nwant %s", tt.name, got, tt.want)
			}
		})
	}
}
