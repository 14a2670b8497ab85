// Package memstore keeps objects in memory, for tests.
//
// It follows the rules of the other backends: a write appears whole or not at all,
// a taken key makes Save claim an alternative name atomically unless it overwrites,
// and errors are [*storage.Error] values that satisfy fs.ErrNotExist and friends. It
// holds each object's bytes in memory, and a write's bytes while it streams in.
//
// The package registers the backend name "memory" with [storage.Register]; it reads
// MEDIA_URL and FILE_OVERWRITE, and each storage it opens starts empty.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gormfile/gormfile/storage"
)

const (
	backend = "memory"
	// maxTries bounds the names Save tries for one write that does not overwrite.
	maxTries = 100
)

// Options tunes a [Storage]. A nil *Options means the zero value.
type Options struct {
	// BaseURL is put before the escaped key by [Storage.URL]; default "/media/". A
	// missing final slash is added.
	BaseURL string

	// Overwrite makes Save replace an object already under its key instead of picking
	// another key.
	Overwrite bool
}

// Storage keeps objects in memory. It is safe for concurrent use.
type Storage struct {
	opts Options

	mu      sync.RWMutex
	objects map[string]*object
}

// object is one stored object. It is never changed once stored: a write replaces it.
type object struct {
	data  []byte
	attrs storage.Attributes
}

var _ storage.Storage = (*Storage)(nil)

// New returns an empty storage.
func New(opts *Options) *Storage {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BaseURL == "" {
		o.BaseURL = "/media/"
	}
	if !strings.HasSuffix(o.BaseURL, "/") {
		o.BaseURL += "/"
	}
	return &Storage{opts: o, objects: map[string]*object{}}
}

// Len returns the number of objects.
func (s *Storage) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// Save reads r's content whole, then stores it under key, or under a free alternative
// of key when key is taken and neither the storage nor opts overwrite. It returns the
// key written.
func (s *Storage) Save(ctx context.Context, key string, r io.Reader,
	opts *storage.SaveOptions) (string, error) {
	if err := storage.CheckKey(backend, "save", key); err != nil {
		return "", err
	}
	var o storage.SaveOptions
	if opts != nil {
		o = *opts
	}
	if err := ctx.Err(); err != nil {
		return "", fail("save", key, err)
	}
	var buf bytes.Buffer
	if o.Size > 0 {
		buf.Grow(int(min(o.Size, 64<<20)))
	}
	if _, err := buf.ReadFrom(ctxReader{ctx, r}); err != nil {
		return "", fail("save", key, err)
	}

	contentType := o.ContentType
	if contentType == "" {
		contentType = storage.ContentTypeByName(key)
	}
	obj := &object{
		data: buf.Bytes(),
		attrs: storage.Attributes{
			Size:        int64(buf.Len()),
			ModTime:     time.Now(),
			ContentType: contentType,
			Metadata:    maps.Clone(o.Metadata),
		},
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	name := key
	if !s.opts.Overwrite && !o.Overwrite {
		var err error
		if name, err = s.freeName(key, o.MaxKeyLength); err != nil {
			return "", fail("save", key, err)
		}
	}
	obj.attrs.Key = name
	s.objects[name] = obj
	return name, nil
}

// freeName returns key, or an alternative of it, that names no object. The caller
// holds the lock.
func (s *Storage) freeName(key string, maxLen int) (string, error) {
	name := key
	for range maxTries {
		if _, taken := s.objects[name]; !taken {
			return name, nil
		}
		var err error
		if name, err = storage.AlternativeName(key, maxLen); err != nil {
			return "", fmt.Errorf("%w: %w", fs.ErrExist, err)
		}
	}
	return "", fmt.Errorf("%w: no free name after %d tries", fs.ErrExist, maxTries)
}

// get returns the object under key.
func (s *Storage) get(ctx context.Context, op, key string) (*object, error) {
	if err := storage.CheckKey(backend, op, key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fail(op, key, err)
	}
	s.mu.RLock()
	obj, ok := s.objects[key]
	s.mu.RUnlock()
	if !ok {
		return nil, fail(op, key, fs.ErrNotExist)
	}
	return obj, nil
}

// Open returns a stream of the object's content.
func (s *Storage) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.get(ctx, "open", key)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(obj.data)), nil
}

// OpenRange returns a stream of length bytes of the object from offset, or of the rest
// of it when length is negative. A range past the end is cut at the end.
func (s *Storage) OpenRange(ctx context.Context, key string, offset,
	length int64) (io.ReadCloser, error) {
	obj, err := s.get(ctx, "open", key)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fail("open", key, fmt.Errorf("negative offset %d", offset))
	}
	size := int64(len(obj.data))
	start := min(offset, size)
	end := size
	if length >= 0 && length < size-start {
		end = start + length
	}
	return io.NopCloser(bytes.NewReader(obj.data[start:end])), nil
}

// Stat returns the object's attributes.
func (s *Storage) Stat(ctx context.Context, key string) (*storage.Attributes, error) {
	obj, err := s.get(ctx, "stat", key)
	if err != nil {
		return nil, err
	}
	return obj.attributes(), nil
}

func (o *object) attributes() *storage.Attributes {
	a := o.attrs
	a.Metadata = maps.Clone(o.attrs.Metadata)
	return &a
}

// Delete removes the object; a missing key is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := storage.CheckKey(backend, "delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fail("delete", key, err)
	}
	s.mu.Lock()
	delete(s.objects, key)
	s.mu.Unlock()
	return nil
}

// URL returns BaseURL followed by the key, each segment escaped.
func (s *Storage) URL(ctx context.Context, key string, opts *storage.URLOptions) (string, error) {
	if err := storage.CheckKey(backend, "url", key); err != nil {
		return "", err
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.opts.BaseURL + strings.Join(segs, "/"), nil
}

// List calls fn for each object whose key starts with prefix, in key order, on a
// snapshot taken when List starts; fn may use the storage.
func (s *Storage) List(ctx context.Context, prefix string,
	fn func(*storage.Attributes) error) error {
	if prefix != "" && !storage.ValidKey(prefix+"x") {
		return fail("list", strconv.Quote(prefix), storage.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return fail("list", prefix, err)
	}
	s.mu.RLock()
	var objs []*object
	for key, obj := range s.objects {
		if strings.HasPrefix(key, prefix) {
			objs = append(objs, obj)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(objs, func(a, b *object) int {
		return strings.Compare(a.attrs.Key, b.attrs.Key)
	})
	for _, obj := range objs {
		if err := fn(obj.attributes()); err != nil {
			return err
		}
	}
	return nil
}

func fail(op, key string, err error) error {
	return &storage.Error{Backend: backend, Op: op, Key: key, Err: err}
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
