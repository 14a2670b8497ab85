// Package s3server runs a versitygw S3 gateway, with its posix backend in a temporary
// directory, on a free 127.0.0.1 port, for tests.
//
// The gateway is built from the module's tool dependency
// (github.com/versity/versitygw/cmd/versitygw) the first time a test binary needs it and
// kept in the system's temporary directory under a name derived from this module's
// go.mod and go.sum, so later test runs start it in a fraction of a second.
//
// A test starts its own server with [Start]; a package shares one through TestMain and
// [StartMain]; a command (a benchmark) starts one with [StartMainWith]. Buckets are made
// through the S3 API with [Server.CreateBucket].
package s3server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running versitygw gateway.
type Server struct {
	// Endpoint is the gateway's base URL, http://127.0.0.1:PORT (https with TLS).
	Endpoint string
	// AccessKey and SecretKey are the root account's credentials.
	AccessKey, SecretKey string
	// Region is the region the gateway signs for.
	Region string
	// CAFile is, for a TLS server, the PEM file of its self-signed certificate.
	CAFile string

	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	out  *syncBuffer
}

// Start runs a gateway for the test and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startT(t, false)
}

// StartTLS runs a gateway that serves HTTPS with a self-signed certificate for
// 127.0.0.1, kept in CAFile, and stops it when the test ends.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return startT(t, true)
}

func startT(t testing.TB, useTLS bool) *Server {
	t.Helper()
	s, err := start(t.TempDir(), useTLS, Options{})
	if err != nil {
		t.Fatalf("s3server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("s3server: %v", err)
		}
	})
	return s
}

// StartMain runs a gateway for a whole test binary, from TestMain. The returned
// function stops it and removes its files.
func StartMain() (*Server, func(), error) {
	return StartMainWith(Options{})
}

// Options tunes a gateway started with [StartMainWith].
type Options struct {
	// KeepAlive lets the gateway keep a connection open after a response, as S3 does;
	// by default versitygw answers every request with "Connection: close".
	KeepAlive bool
}

// StartMainWith is [StartMain] with options. It needs no test: benchmark commands
// use it too.
func StartMainWith(opts Options) (*Server, func(), error) {
	dir, err := os.MkdirTemp("", "s3server-")
	if err != nil {
		return nil, nil, err
	}
	s, err := start(dir, false, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return s, func() {
		s.stop()
		os.RemoveAll(dir)
	}, nil
}

// start runs the gateway with its files under dir.
func start(dir string, useTLS bool, opts Options) (*Server, error) {
	bin, err := gatewayBinary()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "posix")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	s := &Server{
		AccessKey: "gormfile-test",
		SecretKey: "s3cret-" + randomHex(16),
		Region:    "us-east-1",
		dir:       dir,
	}
	var tlsArgs []string
	scheme := "http"
	if useTLS {
		cert, key, err := writeCertificate(dir)
		if err != nil {
			return nil, err
		}
		s.CAFile = cert
		tlsArgs = []string{"--cert", cert, "--key", key}
		scheme = "https"
	}

	// The port is free when chosen and may be taken before the gateway binds it: try
	// again with another one.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Endpoint = fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
		args := []string{"--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet",
			"--region", s.Region}
		if opts.KeepAlive {
			args = append(args, "--keep-alive")
		}
		args = append(args, tlsArgs...)
		args = append(args, "posix", root)
		if lastErr = s.run(bin, args); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// run starts the gateway and waits until it answers.
func (s *Server) run(bin string, args []string) error {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(gatewayEnv(),
		"ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	s.out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting versitygw: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		cmd.Wait()
		close(s.done)
	}()

	hc := s.httpClient()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("versitygw exited at start: %s", s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := hc.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
	}
	s.stop()
	return fmt.Errorf("versitygw did not answer at %s within 30s: %s", s.Endpoint, s.out.String())
}

// stop ends the gateway: SIGTERM, then SIGKILL after 5 seconds.
func (s *Server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	s.cmd.Process.Kill()
	<-s.done
	return errors.New("versitygw ignored SIGTERM and was killed")
}

// httpClient returns a client that trusts the server's certificate, if any.
func (s *Server) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CAFile != "" {
		pemBytes, err := os.ReadFile(s.CAFile)
		if err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pemBytes)
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Client returns an S3 client for the root account, path style, that sends checksums
// only where required.
func (s *Server) Client() *s3.Client {
	creds := credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
	return s3.New(s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                creds,
		HTTPClient:                 s.httpClient(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

var bucketSeq atomic.Int64

// NewBucket creates a bucket with a fresh name and returns the name.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test-%d-%s", bucketSeq.Add(1), randomHex(4))
	s.CreateBucket(t, name)
	return name
}

// CreateBucket creates a bucket through the S3 API.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("s3server: create bucket %s: %v", name, err)
	}
}

// AllowPublicRead lets anonymous requests GET the objects of bucket, through a bucket
// policy. (versitygw grants anonymous access per bucket only: an object's public-read
// ACL is accepted on upload but grants nothing.)
func (s *Server) AllowPublicRead(t testing.TB, bucket string) {
	t.Helper()
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
		`"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
		Bucket: &bucket,
		Policy: &policy,
	})
	if err != nil {
		t.Fatalf("s3server: public read policy on %s: %v", bucket, err)
	}
}

// Config returns the storage settings (STORAGE_CONFIG keys) for bucket on this server.
func (s *Server) Config(bucket string) map[string]any {
	return map[string]any{
		"AWS_ACCESS_KEY_ID":       s.AccessKey,
		"AWS_SECRET_ACCESS_KEY":   s.SecretKey,
		"AWS_STORAGE_BUCKET_NAME": bucket,
		"AWS_S3_REGION_NAME":      s.Region,
		"AWS_S3_ENDPOINT_URL":     s.Endpoint,
		"AWS_S3_ADDRESSING_STYLE": "path",
	}
}

// Output returns what the gateway printed so far.
func (s *Server) Output() string { return s.out.String() }

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// gatewayBinary returns the path of the versitygw binary, building it once per test
// binary, and once per version of this module's go.mod and go.sum across runs.
func gatewayBinary() (string, error) {
	buildOnce.Do(func() { buildPath, buildErr = build() })
	return buildPath, buildErr
}

func build() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the integration_test module")
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, f := range []string{gomod, strings.TrimSuffix(gomod, ".mod") + ".sum"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "gormfile-versitygw-"+hex.EncodeToString(h.Sum(nil))[:16])
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build under a temporary name and rename, so that test binaries building at the
	// same time never run a half-written file.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command(goBin, "build", "-o", tmp, "github.com/versity/versitygw/cmd/versitygw")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building versitygw: %w\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return bin, nil
}

// gatewayEnv is the environment without the gateway's own settings, so that a
// developer's VGW_* or ROOT_* variables cannot change the server.
func gatewayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeCertificate writes a self-signed certificate for 127.0.0.1 and its key under
// dir.
func writeCertificate(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "s3server test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	err = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		0o644)
	if err == nil {
		err = os.WriteFile(keyFile,
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	}
	return certFile, keyFile, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads,
// keeping the last 64 KiB.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.buf.Len() > 64<<10 {
		b.buf.Next(b.buf.Len() - 64<<10)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
