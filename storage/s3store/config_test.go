package s3store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/storage"
)

// isolateAWSEnv hides the machine's AWS settings from the test.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestParseConfigDefaults(t *testing.T) {
	opts, cs, err := parseConfig(storage.Config{"AWS_STORAGE_BUCKET_NAME": "bkt"})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Bucket: "bkt", QuerystringAuth: true, QuerystringExpire: time.Hour}
	if !reflect.DeepEqual(*opts, want) {
		t.Errorf("options = %+v, want %+v", *opts, want)
	}
	if *cs != (clientSettings{}) {
		t.Errorf("client settings = %+v, want none", *cs)
	}

	// The defaults New fills in keep one Save within 32 MiB.
	n, err := normalize(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if n.PartSize != 8<<20 || n.Concurrency != 3 || n.ListPageSize != 1000 {
		t.Errorf("defaults: part size %d, concurrency %d, page %d", n.PartSize,
			n.Concurrency, n.ListPageSize)
	}
	if bound := n.PartSize * int64(n.Concurrency+1); bound > 32<<20 {
		t.Errorf("memory bound of one Save = %d MiB, want <= 32", bound>>20)
	}
	if n.Overwrite {
		t.Errorf("Overwrite is on by default")
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := storage.ParseConfig(`{
		"AWS_ACCESS_KEY_ID": "AKID",
		"AWS_SECRET_ACCESS_KEY": "SECRET",
		"AWS_SESSION_TOKEN": "TOKEN",
		"AWS_STORAGE_BUCKET_NAME": "bkt",
		"AWS_S3_REGION_NAME": "eu-west-3",
		"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
		"AWS_S3_ADDRESSING_STYLE": "virtual",
		"AWS_DEFAULT_ACL": "public-read",
		"AWS_QUERYSTRING_AUTH": "False",
		"AWS_QUERYSTRING_EXPIRE": 600,
		"AWS_LOCATION": "/media/",
		"AWS_S3_CUSTOM_DOMAIN": "cdn.example.com",
		"AWS_S3_URL_PROTOCOL": "http:",
		"AWS_S3_FILE_OVERWRITE": true,
		"AWS_S3_PUBLIC_ENDPOINT_URL": "https://files.example.com",
		"AWS_S3_PART_SIZE": "10485760",
		"AWS_S3_OBJECT_PARAMETERS": {
			"CacheControl": "max-age=86400",
			"ContentDisposition": "inline",
			"ServerSideEncryption": "AES256",
			"StorageClass": "STANDARD_IA",
			"Metadata": {"owner": "tests"}
		},
		"MEDIA_ROOT": "/ignored/by/s3"
	}`)
	if err != nil {
		t.Fatal(err)
	}
	opts, cs, err := parseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantOpts := Options{
		Bucket: "bkt", Location: "/media/", DefaultACL: "public-read",
		QuerystringExpire: 10 * time.Minute, CustomDomain: "cdn.example.com",
		URLProtocol: "http:", PublicEndpoint: "https://files.example.com", Overwrite: true,
		PartSize: 10 << 20, CacheControl: "max-age=86400", ContentDisposition: "inline",
		ServerSideEncryption: "AES256", StorageClass: "STANDARD_IA",
		Metadata: map[string]string{"owner": "tests"},
	}
	if !reflect.DeepEqual(*opts, wantOpts) {
		t.Errorf("options\n got %+v\nwant %+v", *opts, wantOpts)
	}
	wantCS := clientSettings{accessKey: "AKID", secretKey: "SECRET", sessionToken: "TOKEN",
		region: "eu-west-3", endpoint: "http://127.0.0.1:9000", pathStyle: false}
	if *cs != wantCS {
		t.Errorf("client settings = %+v, want %+v", *cs, wantCS)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := storage.Config{"AWS_STORAGE_BUCKET_NAME": "bkt"}
	tests := []struct {
		name string
		cfg  storage.Config
		want []string // substrings of the error
	}{
		{"no bucket", storage.Config{}, []string{"AWS_STORAGE_BUCKET_NAME", "required"}},
		{
			"unknown keys",
			base.With(map[string]any{"AWS_S3_SIGNATURE_VERSION": "s3v4", "AWS_IS_GZIPPED": true}),
			[]string{"unknown settings", "AWS_IS_GZIPPED, AWS_S3_SIGNATURE_VERSION"},
		},
		{
			"key without secret",
			base.With(map[string]any{"AWS_ACCESS_KEY_ID": "AKID"}),
			[]string{"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		},
		{
			"endpoint without scheme",
			base.With(map[string]any{"AWS_S3_ENDPOINT_URL": "localhost:9000"}),
			[]string{"AWS_S3_ENDPOINT_URL"},
		},
		{
			"addressing style",
			base.With(map[string]any{"AWS_S3_ADDRESSING_STYLE": "dns"}),
			[]string{"AWS_S3_ADDRESSING_STYLE", `"dns"`},
		},
		{
			"small part size",
			base.With(map[string]any{"AWS_S3_PART_SIZE": "1024"}),
			[]string{"part size 1024"},
		},
		{
			"boolean",
			base.With(map[string]any{"AWS_QUERYSTRING_AUTH": "maybe"}),
			[]string{"AWS_QUERYSTRING_AUTH"},
		},
		{
			"unknown object parameter",
			base.With(map[string]any{"AWS_S3_OBJECT_PARAMETERS": map[string]any{"ACL": "x"}}),
			[]string{"AWS_S3_OBJECT_PARAMETERS", `"ACL"`},
		},
		{
			"metadata not an object",
			base.With(map[string]any{"AWS_S3_OBJECT_PARAMETERS": map[string]any{"Metadata": "x"}}),
			[]string{"AWS_S3_OBJECT_PARAMETERS", "Metadata"},
		},
		{
			"custom domain with scheme",
			base.With(map[string]any{"AWS_S3_CUSTOM_DOMAIN": "https://cdn.example.com"}),
			[]string{"custom domain", "without a scheme"},
		},
		{
			"url protocol",
			base.With(map[string]any{"AWS_S3_URL_PROTOCOL": "ftp:"}),
			[]string{"URL protocol"},
		},
		{
			"location escapes",
			base.With(map[string]any{"AWS_LOCATION": "../up"}),
			[]string{"location"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseConfig(tt.cfg)
			if err == nil {
				t.Fatalf("parseConfig: no error, want one with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewFromConfigClient(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name      string
		cfg       storage.Config
		region    string
		endpoint  string
		pathStyle bool
		checksums aws.RequestChecksumCalculation
	}{
		{
			name:      "endpoint without region",
			cfg:       storage.Config{"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
			region:    "us-east-1",
			endpoint:  "http://127.0.0.1:9000",
			pathStyle: true,
			checksums: aws.RequestChecksumCalculationWhenRequired,
		},
		{
			name: "endpoint, region, virtual",
			cfg: storage.Config{"AWS_S3_ENDPOINT_URL": "https://s3.example.com",
				"AWS_S3_REGION_NAME": "fr-par", "AWS_S3_ADDRESSING_STYLE": "virtual"},
			region:    "fr-par",
			endpoint:  "https://s3.example.com",
			checksums: aws.RequestChecksumCalculationWhenRequired,
		},
		{
			name:      "AWS",
			cfg:       storage.Config{"AWS_S3_REGION_NAME": "eu-west-1"},
			region:    "eu-west-1",
			checksums: aws.RequestChecksumCalculationWhenSupported,
		},
		{
			name:      "AWS without region",
			cfg:       storage.Config{},
			region:    "us-east-1",
			checksums: aws.RequestChecksumCalculationWhenSupported,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg.With(map[string]any{"AWS_STORAGE_BUCKET_NAME": "bkt",
				"AWS_ACCESS_KEY_ID": testAccessKey, "AWS_SECRET_ACCESS_KEY": testSecretKey})
			s, err := NewFromConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			o := s.client.Options()
			if o.Region != tt.region {
				t.Errorf("region = %q, want %q", o.Region, tt.region)
			}
			if got := aws.ToString(o.BaseEndpoint); got != tt.endpoint {
				t.Errorf("endpoint = %q, want %q", got, tt.endpoint)
			}
			if o.UsePathStyle != tt.pathStyle {
				t.Errorf("path style = %v, want %v", o.UsePathStyle, tt.pathStyle)
			}
			if o.RequestChecksumCalculation != tt.checksums {
				t.Errorf("request checksums = %v, want %v", o.RequestChecksumCalculation,
					tt.checksums)
			}
			creds, err := o.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != testAccessKey {
				t.Errorf("credentials = %v, %v; want the static ones", creds.AccessKeyID, err)
			}
		})
	}
}

func TestRegisteredNames(t *testing.T) {
	isolateAWSEnv(t)
	for _, name := range []string{"s3", "storages.backends.s3boto3.S3Boto3Storage",
		"storages.backends.s3.S3Storage"} {
		st, err := storage.Open(context.Background(), name,
			storage.Config{"AWS_STORAGE_BUCKET_NAME": "bkt", "AWS_S3_ENDPOINT_URL": "http://x:1"})
		if err != nil {
			t.Errorf("Open(%q): %v", name, err)
			continue
		}
		if _, ok := st.(*Storage); !ok {
			t.Errorf("Open(%q) = %T, want *s3store.Storage", name, st)
		}
	}
	_, err := storage.Open(context.Background(), "s3", storage.Config{"AWS_BUCKET": "x"})
	if err == nil || !strings.Contains(err.Error(), "AWS_BUCKET") {
		t.Errorf("Open with an unknown setting: error = %v, want one naming it", err)
	}
}

// writeTestCA writes a self-signed certificate as a PEM file and returns its path and
// its bytes.
func writeTestCA(t *testing.T) (string, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "s3store test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pemBytes
}

// TestCABundleWithOwnHTTPClient checks that AWS_CA_BUNDLE reaches a caller's
// *http.Client: config.LoadDefaultConfig(config.WithHTTPClient(...)) fails in this SDK
// version ("unable to add custom RootCAs HTTPClient, has no WithTransportOptions").
func TestCABundleWithOwnHTTPClient(t *testing.T) {
	isolateAWSEnv(t)
	path, pemBytes := writeTestCA(t)
	t.Setenv("AWS_CA_BUNDLE", path)
	want := x509.NewCertPool()
	want.AppendCertsFromPEM(pemBytes)

	cfg := storage.Config{"AWS_STORAGE_BUCKET_NAME": "bkt",
		"AWS_S3_ENDPOINT_URL": "https://127.0.0.1:9000"}
	own := &http.Client{Timeout: 7 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 3}}
	s, err := NewFromConfig(context.Background(), cfg, func(o *s3.Options) {
		o.HTTPClient = own
	})
	if err != nil {
		t.Fatalf("NewFromConfig with an *http.Client and AWS_CA_BUNDLE: %v", err)
	}
	hc, ok := s.client.Options().HTTPClient.(*http.Client)
	if !ok {
		t.Fatalf("HTTP client = %T, want *http.Client", s.client.Options().HTTPClient)
	}
	tr := hc.Transport.(*http.Transport)
	if tr.TLSClientConfig == nil || !tr.TLSClientConfig.RootCAs.Equal(want) {
		t.Errorf("the client's roots are not the bundle's")
	}
	if hc.Timeout != own.Timeout || tr.MaxIdleConns != 3 {
		t.Errorf("the client's own settings were lost: timeout %v, idle %d", hc.Timeout,
			tr.MaxIdleConns)
	}
	if c := own.Transport.(*http.Transport).TLSClientConfig; c != nil && c.RootCAs != nil {
		t.Errorf("the caller's transport was changed")
	}

	// Without a client of its own, the SDK's client takes the bundle itself.
	if _, err := NewFromConfig(context.Background(), cfg); err != nil {
		t.Errorf("NewFromConfig with AWS_CA_BUNDLE: %v", err)
	}

	t.Setenv("AWS_CA_BUNDLE", filepath.Join(t.TempDir(), "missing.pem"))
	if _, err := NewFromConfig(context.Background(), cfg); err == nil {
		t.Errorf("NewFromConfig with a missing AWS_CA_BUNDLE file: no error")
	}
}

func TestWithRootCAs(t *testing.T) {
	_, pemBytes := writeTestCA(t)
	other := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil })
	tests := []struct {
		name    string
		client  *http.Client
		changed bool
	}{
		{"nil transport", &http.Client{}, true},
		{"transport", &http.Client{Transport: &http.Transport{}}, true},
		{"other round tripper", &http.Client{Transport: other}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithRootCAs(tt.client, pemBytes)
			if err != nil {
				t.Fatal(err)
			}
			if changed := got != tt.client; changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
		})
	}
	if _, err := WithRootCAs(&http.Client{}, []byte("not a pem")); err == nil {
		t.Errorf("WithRootCAs of a bad PEM: no error")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
