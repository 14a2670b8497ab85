// Package storage defines where the bytes of field files live.
//
// A [Storage] keeps objects under keys. Keys are slash-separated paths relative to the
// storage's own location (a root directory, or a bucket and prefix): the key stored in a
// database row never carries that location, so a table reads the same whichever storage
// holds its files.
//
// # Backends
//
// Each backend lives in its own package: fsstore (a local directory, the default),
// s3store (Amazon S3 and S3-compatible servers) and memstore (tests). Every backend
// passes the conformance suite in storagetest.
//
// # Errors
//
// A missing object satisfies errors.Is(err, fs.ErrNotExist); a taken key on an exclusive
// write satisfies errors.Is(err, fs.ErrExist). Backends wrap every failure in an
// [*Error] that names the backend, the operation and the key, and never holds a secret.
//
// # Names
//
// [Storage.Save] never replaces an existing object unless the storage is configured to
// overwrite, or the caller asks to: when a key is taken it claims another one, made by
// [AlternativeName], atomically.
package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Storage is a place that keeps objects under keys.
//
// Implementations are safe for concurrent use. Keys passed in must be valid as told by
// [ValidKey]; implementations check them and fail with [ErrInvalidKey] otherwise.
type Storage interface {
	// Save writes the content of r under key, or under another free key derived from key
	// when key is taken and the storage does not overwrite, and returns the key written.
	// The object appears whole or not at all: a reader that fails half way leaves no
	// object behind. Save streams r; it never holds the whole content in memory.
	Save(ctx context.Context, key string, r io.Reader, opts *SaveOptions) (string, error)

	// Open returns a stream of the object's content. The caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// OpenRange returns a stream of length bytes of the object from offset; a negative
	// length reads to the end.
	OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)

	// Stat returns the object's attributes.
	Stat(ctx context.Context, key string) (*Attributes, error)

	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error

	// URL returns an address at which the object can be read.
	URL(ctx context.Context, key string, opts *URLOptions) (string, error)

	// List calls fn for each object whose key starts with prefix, in key order, reading
	// the listing page by page. It stops at the first error fn returns and returns it.
	List(ctx context.Context, prefix string, fn func(*Attributes) error) error
}

// SaveOptions tunes one [Storage.Save]. A nil *SaveOptions means the zero value.
type SaveOptions struct {
	// ContentType is stored with the object. Empty: chosen from the key's extension.
	ContentType string

	// CacheControl and ContentDisposition are stored with the object where the backend
	// keeps such headers (S3), and ignored elsewhere.
	CacheControl       string
	ContentDisposition string

	// Metadata is stored with the object where the backend keeps metadata.
	Metadata map[string]string

	// Overwrite replaces an object already under key, whatever the storage's own setting.
	Overwrite bool

	// MaxKeyLength bounds the length of the key Save picks when key is taken (in bytes,
	// as a database column counts them for ASCII); zero means no bound.
	MaxKeyLength int

	// Size is the content's length when known, or -1 or 0 when unknown. It lets a
	// backend pick a single request over a multipart upload; it is a hint, not a limit.
	Size int64
}

// URLOptions tunes one [Storage.URL]. A nil *URLOptions means the zero value.
type URLOptions struct {
	// Expires is how long a signed URL stays valid; zero means the storage's default.
	Expires time.Duration

	// DownloadName asks the browser to save the object under this name, where the
	// backend can say so in a signed URL.
	DownloadName string
}

// Attributes describes one object.
type Attributes struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
	// ETag is the backend's entity tag, without quotes, where it has one.
	ETag     string
	Metadata map[string]string
}

// Errors that backends report, to be tested with errors.Is.
var (
	// ErrNotExist: the object is missing. It is fs.ErrNotExist.
	ErrNotExist = fs.ErrNotExist
	// ErrExist: the key is taken and the write was exclusive. It is fs.ErrExist.
	ErrExist = fs.ErrExist
	// ErrInvalidKey: the key is empty, absolute, holds "." or ".." segments, "//" or
	// a NUL byte, or is otherwise not a key this storage accepts.
	ErrInvalidKey = errors.New("invalid key")
)

// Error is the error every backend returns: it names the backend, the operation and the
// key. It never holds credentials.
type Error struct {
	Backend string // "s3", "filesystem", "memory"
	Op      string // "save", "open", "stat", "delete", "url", "list"
	Key     string
	Err     error
}

func (e *Error) Error() string {
	return e.Backend + ": " + e.Op + " " + e.Key + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Exists reports whether key names an object. A missing object is (false, nil); any
// other failure, such as a denied request, is an error, never "the key is free".
func Exists(ctx context.Context, s Storage, key string) (bool, error) {
	_, err := s.Stat(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}
