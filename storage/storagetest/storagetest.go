// Package storagetest is the conformance suite that every [storage.Storage] backend runs.
//
// A backend's test file builds a [Harness] that makes fresh, empty storages and fetches
// the URLs they hand out, then calls [Run]:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Harness{New: newStorage, Fetch: storagetest.HTTPFetch})
//	}
//
// # What it checks
//
// Save, Open, OpenRange, Stat, Delete, URL and List on ordinary and awkward keys
// (spaces, '+', quotes, '#', '?', '%', Unicode, nested directories); missing objects and
// invalid keys; empty and large objects streamed from readers that cannot seek; readers
// that fail half way; the naming rules when a key is taken (alternative names, their
// length bound, overwrite settings) alone and under concurrent writers; listing across
// pages in key order; and the operation and key carried by every error.
//
// # Cost
//
// Each case asks [Harness.New] for its own storage. The large-object cases move a few
// times [Harness.LargeSize] bytes; everything else moves kilobytes.
package storagetest

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
)

// Harness tells Run how to make storages of one backend.
type Harness struct {
	// New returns a new, empty storage for one test. overwrite sets the storage's own
	// overwrite setting (false: Save never replaces an object, it picks another key).
	New func(t *testing.T, overwrite bool) storage.Storage

	// Fetch GETs a URL the storage returned and gives the body; it is required (Run
	// fails when it is nil). It must return an error for any answer other than a
	// success, such as 404 for a deleted object. [HTTPFetch] does so for http URLs.
	Fetch func(t *testing.T, url string) ([]byte, error)

	// LargeSize is the byte size of the large-object case; 0 means 24 MiB.
	LargeSize int64

	// ListPageSize is the page size the backend lists with (the backend's harness
	// configures it small); Run writes more objects than this so listing crosses
	// pages. 0 means 3.
	ListPageSize int
}

// Run runs the conformance suite against the backend h describes, each case as a
// subtest.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("storagetest: Harness.New is nil")
	}
	if h.Fetch == nil {
		t.Fatal("storagetest: Harness.Fetch is nil; it is required")
	}
	if h.LargeSize <= 0 {
		h.LargeSize = 24 << 20
	}
	if h.ListPageSize <= 0 {
		h.ListPageSize = 3
	}
	cases := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"SaveOpenStat", testSaveOpenStat},
		{"ContentType", testContentType},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"DirectoryIsNotAnObject", testDirectoryIsNotAnObject},
		{"Keys", testKeys},
		{"InvalidKeys", testInvalidKeys},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"FailingReader", testFailingReader},
		{"ContextCanceled", testContextCanceled},
		{"NoOverwrite", testNoOverwrite},
		{"SaveOptionsOverwrite", testSaveOptionsOverwrite},
		{"StorageOverwrite", testStorageOverwrite},
		{"MaxKeyLength", testMaxKeyLength},
		{"ConcurrentNoOverwrite", testConcurrentNoOverwrite},
		{"ConcurrentOverwrite", testConcurrentOverwrite},
		{"OpenRange", testOpenRange},
		{"List", testList},
		{"ListStops", testListStops},
		{"URL", testURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// HTTPFetch is a [Harness.Fetch] for http and https URLs: it GETs url with
// http.DefaultClient and fails on any status other than 200 OK.
func HTTPFetch(t *testing.T, url string) ([]byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// onlyReader hides every method of a reader but Read, so that a backend cannot seek
// back, ask for the size or read it twice.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// prngBlock is the unit of the generated content. The content is the AES-CTR key
// stream of a key made from the stream's seed: a deterministic generator that any
// offset can be reached in without generating what comes before it, and fast even
// under the race detector.
const prngBlock = 64 << 10

// prngReader streams size bytes of deterministic pseudo-random content.
type prngReader struct {
	block cipher.Block
	off   int64
	size  int64
	idx   int64 // the block in buf, or -1
	buf   []byte
}

func newPRNG(seed uint64, size int64) *prngReader {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], "gormfile")
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 16-byte key always makes a cipher
	}
	return &prngReader{block: block, size: size, idx: -1, buf: make([]byte, prngBlock)}
}

func (p *prngReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	if idx := p.off / prngBlock; idx != p.idx {
		var iv [aes.BlockSize]byte
		binary.BigEndian.PutUint64(iv[8:], uint64(idx)*(prngBlock/aes.BlockSize))
		clear(p.buf)
		cipher.NewCTR(p.block, iv[:]).XORKeyStream(p.buf, p.buf)
		p.idx = idx
	}
	n := copy(b, p.buf[p.off%prngBlock:])
	n = int(min(int64(n), p.size-p.off))
	p.off += int64(n)
	return n, nil
}

// prngBytes returns length bytes of the stream (seed, size) from offset.
func prngBytes(seed uint64, size, offset, length int64) []byte {
	p := newPRNG(seed, size)
	p.off = offset
	out, _ := io.ReadAll(io.LimitReader(p, length))
	return out
}

// prngSum returns the SHA-256 of the whole stream (seed, size).
func prngSum(seed uint64, size int64) [sha256.Size]byte {
	h := sha256.New()
	_, _ = io.Copy(h, newPRNG(seed, size))
	return [sha256.Size]byte(h.Sum(nil))
}

// failingReader yields n bytes of content, then fails with err.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// content returns n bytes that differ from those of any other tag.
func content(tag string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s:%d;", tag, i)
	}
	return b.Bytes()[:n]
}

func mustSave(t *testing.T, s storage.Storage, key string, data []byte,
	opts *storage.SaveOptions) string {
	t.Helper()
	got, err := s.Save(t.Context(), key, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
	return got
}

func mustRead(t *testing.T, s storage.Storage, key string) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Open(%q): read: %v", key, err)
	}
	return b
}

func checkContent(t *testing.T, s storage.Storage, key string, want []byte) {
	t.Helper()
	if got := mustRead(t, s, key); !bytes.Equal(got, want) {
		t.Errorf("Open(%q) = %d bytes %.40q, want %d bytes %.40q",
			key, len(got), got, len(want), want)
	}
}

func checkExists(t *testing.T, s storage.Storage, key string, want bool) {
	t.Helper()
	got, err := storage.Exists(t.Context(), s, key)
	if err != nil {
		t.Fatalf("Exists(%q): %v", key, err)
	}
	if got != want {
		t.Errorf("Exists(%q) = %v, want %v", key, got, want)
	}
}

// checkMissing asserts that key names no object, through Stat and Exists.
func checkMissing(t *testing.T, s storage.Storage, key string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%q) error = %v, want fs.ErrNotExist", key, err)
	}
	checkExists(t, s, key, false)
}

func listAll(t *testing.T, s storage.Storage, prefix string) []*storage.Attributes {
	t.Helper()
	var out []*storage.Attributes
	err := s.List(t.Context(), prefix, func(a *storage.Attributes) error {
		out = append(out, a)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return out
}

func listKeys(t *testing.T, s storage.Storage, prefix string) []string {
	t.Helper()
	var keys []string
	for _, a := range listAll(t, s, prefix) {
		keys = append(keys, a.Key)
	}
	return keys
}

// checkError asserts that err is an *storage.Error for op whose text names op and,
// when key is not empty, key.
func checkError(t *testing.T, err error, op, key string) {
	t.Helper()
	var se *storage.Error
	if !errors.As(err, &se) {
		t.Errorf("error %v (%T) is not a *storage.Error", err, err)
		return
	}
	if se.Op != op {
		t.Errorf("error %v: Op = %q, want %q", err, se.Op, op)
	}
	if msg := err.Error(); !strings.Contains(msg, op) || !strings.Contains(msg, key) {
		t.Errorf("error text %q does not name op %q and key %q", msg, op, key)
	}
}

func sortedCopy(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// canceledContext returns a context that is already canceled.
func canceledContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
