// Package fsstore keeps objects as files under a local directory, like Django's
// FileSystemStorage.
//
// # Safety
//
// Every file operation goes through an [os.Root] opened on the directory: no key, and
// no symbolic link inside the directory, can reach a file outside it. Keys are checked
// with [storage.ValidKey] first; a key with a segment starting with ".gormfile-tmp-"
// is refused too, since such names belong to writes in progress.
//
// # Writes
//
// [Storage.Save] streams the content into a temporary file in the key's directory,
// syncs it, then either renames it over the key (overwrite) or claims the key with a
// hard link, which fails when the name is taken; a taken key makes it try alternative
// names ([storage.AlternativeName]) with the same temporary file, so the content is read
// once. The temporary file is removed on every path, so a failed write leaves nothing.
// The file system must support hard links for writes that do not overwrite.
//
// # Serving
//
// [Storage.Handler] serves the files over HTTP with range requests; [Storage.URL] gives
// addresses under [Options.BaseURL] that it answers once mounted there.
//
// # Configuration
//
// The package registers the backend names "filesystem",
// "django.core.files.storage.FileSystemStorage" and
// "django.core.files.storage.filesystem.FileSystemStorage" with [storage.Register]. They
// read MEDIA_ROOT (required), MEDIA_URL, FILE_UPLOAD_PERMISSIONS,
// FILE_UPLOAD_DIRECTORY_PERMISSIONS and FILE_OVERWRITE.
package fsstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gormfile/gormfile/storage"
)

const (
	backend = "filesystem"
	// tempPrefix starts the names of the temporary files of writes in progress.
	tempPrefix = ".gormfile-tmp-"
	// maxTries bounds the names Save tries for one write that does not overwrite.
	maxTries = 100
)

// Options tunes a [Storage]. A nil *Options means the zero value, whose fields take
// the defaults given below.
type Options struct {
	// BaseURL is put before the escaped key by [Storage.URL]; default "/media/". A
	// missing final slash is added.
	BaseURL string

	// FileMode and DirMode are the permissions of the files and directories Save
	// creates, applied whatever the process's umask; default 0o644 and 0o755.
	FileMode, DirMode fs.FileMode

	// Overwrite makes Save replace an object already under its key instead of picking
	// another key.
	Overwrite bool
}

// Storage keeps objects as files under one directory. It is safe for concurrent use,
// and for use by several processes on the same directory.
type Storage struct {
	root *os.Root
	dir  string
	opts Options
}

var _ storage.Storage = (*Storage)(nil)

// New returns a storage over the directory root, creating it when it is missing.
func New(root string, opts *Options) (*Storage, error) {
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
	if o.FileMode == 0 {
		o.FileMode = 0o644
	}
	if o.DirMode == 0 {
		o.DirMode = 0o755
	}
	if o.FileMode&^fs.ModePerm != 0 || o.DirMode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("fsstore: modes %v and %v: only permission bits are allowed",
			o.FileMode, o.DirMode)
	}
	if root == "" {
		return nil, errors.New("fsstore: the root directory is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fsstore: root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, o.DirMode); err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	return &Storage{root: r, dir: abs, opts: o}, nil
}

// Root returns the absolute path of the storage's directory.
func (s *Storage) Root() string { return s.dir }

// Close releases the storage's handle on its directory. The storage is unusable after.
func (s *Storage) Close() error { return s.root.Close() }

// Save writes r's content under key, or under a free alternative of key when key is
// taken and neither the storage nor opts overwrite. It returns the key written.
func (s *Storage) Save(ctx context.Context, key string, r io.Reader,
	opts *storage.SaveOptions) (string, error) {
	if err := s.checkKey("save", key); err != nil {
		return "", err
	}
	var o storage.SaveOptions
	if opts != nil {
		o = *opts
	}
	if err := ctx.Err(); err != nil {
		return "", s.fail("save", key, err)
	}

	dir := path.Dir(key)
	if err := s.mkdirs(dir); err != nil {
		return "", s.fail("save", key, err)
	}
	tmp, f, err := s.createTemp(dir)
	if err != nil {
		return "", s.fail("save", key, err)
	}
	defer func() {
		// After a rename the temporary name is gone; after a link or a failure it is
		// still there.
		_ = s.root.Remove(tmp)
	}()

	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Chmod(s.opts.FileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", s.fail("save", key, err)
	}

	written, err := s.commit(tmp, key, s.opts.Overwrite || o.Overwrite, o.MaxKeyLength)
	if err != nil {
		return "", s.fail("save", key, err)
	}
	s.syncDir(dir)
	return written, nil
}

// commit gives the written temporary file its name: key, replacing any file there when
// overwrite is set, or else the first free name among key and its alternatives.
func (s *Storage) commit(tmp, key string, overwrite bool, maxLen int) (string, error) {
	if overwrite {
		return key, s.root.Rename(tmp, key)
	}
	name := key
	for range maxTries {
		err := s.root.Link(tmp, name)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		name, err = storage.AlternativeName(key, maxLen)
		if err != nil {
			return "", fmt.Errorf("%w: %w", fs.ErrExist, err)
		}
	}
	return "", fmt.Errorf("%w: no free name after %d tries", fs.ErrExist, maxTries)
}

// mkdirs creates dir and its missing parents with the storage's directory mode.
func (s *Storage) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	if fi, err := s.root.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	p := ""
	for seg := range strings.SplitSeq(dir, "/") {
		p = path.Join(p, seg)
		err := s.root.Mkdir(p, s.opts.DirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.chmodDir(p); err != nil {
			return err
		}
	}
	return nil
}

// chmodDir gives the directory it just created the directory mode, which the umask
// may have narrowed. It changes the directory it opened, not whatever the name points
// to by then.
func (s *Storage) chmodDir(name string) error {
	d, err := s.root.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Chmod(s.opts.DirMode)
}

// createTemp creates a new, private temporary file in dir.
func (s *Storage) createTemp(dir string) (string, *os.File, error) {
	for range 10 {
		name := path.Join(dir, tempPrefix+rand.Text())
		f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
	}
	return "", nil, errors.New("no free temporary file name")
}

// syncDir makes a new name in dir durable. It is best effort: the object is already
// visible, and some systems cannot sync a directory.
func (s *Storage) syncDir(dir string) {
	d, err := s.root.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// Open returns a stream of the object's content.
func (s *Storage) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := s.open(ctx, key)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenRange returns a stream of length bytes of the object from offset, or of the rest
// of it when length is negative. A range past the end is cut at the end.
func (s *Storage) OpenRange(ctx context.Context, key string, offset,
	length int64) (io.ReadCloser, error) {
	if err := s.checkKey("open", key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, s.fail("open", key, fmt.Errorf("negative offset %d", offset))
	}
	f, fi, err := s.open(ctx, key)
	if err != nil {
		return nil, err
	}
	if length < 0 {
		length = max(fi.Size()-offset, 0)
	}
	return sectionFile{io.NewSectionReader(f, offset, length), f}, nil
}

// sectionFile reads a section of a file and closes the file.
type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (s sectionFile) Close() error { return s.f.Close() }

// open opens the regular file under key and returns it with its attributes.
func (s *Storage) open(ctx context.Context, key string) (*os.File, fs.FileInfo, error) {
	if err := s.checkKey("open", key); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, s.fail("open", key, err)
	}
	// Stat first: opening a FIFO would block.
	if _, err := s.regular(key); err != nil {
		return nil, nil, s.fail("open", key, err)
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, nil, s.fail("open", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotObject
	}
	if err != nil {
		f.Close()
		return nil, nil, s.fail("open", key, err)
	}
	return f, fi, nil
}

// errNotObject is the error for a name that exists but is no regular file.
var errNotObject = fmt.Errorf("not a regular file: %w", fs.ErrNotExist)

// regular stats key, following links inside the root, and fails unless it is a
// regular file.
func (s *Storage) regular(key string) (fs.FileInfo, error) {
	fi, err := s.root.Stat(key)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotObject
	}
	return fi, nil
}

// Stat returns the object's size, modification time and content type (by name).
func (s *Storage) Stat(ctx context.Context, key string) (*storage.Attributes, error) {
	if err := s.checkKey("stat", key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, s.fail("stat", key, err)
	}
	fi, err := s.regular(key)
	if err != nil {
		return nil, s.fail("stat", key, err)
	}
	return attributes(key, fi), nil
}

func attributes(key string, fi fs.FileInfo) *storage.Attributes {
	return &storage.Attributes{
		Key:         key,
		Size:        fi.Size(),
		ModTime:     fi.ModTime(),
		ContentType: storage.ContentTypeByName(key),
	}
}

// Delete removes the object. A missing key, or one that names a directory, is no
// error. A symbolic link is removed, not its target.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.fail("delete", key, err)
	}
	fi, err := s.root.Lstat(key)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		err = s.root.Remove(key)
	}
	if err == nil || isNotExist(err) {
		return nil
	}
	return s.fail("delete", key, err)
}

// URL returns BaseURL followed by the key, each segment escaped.
func (s *Storage) URL(ctx context.Context, key string, opts *storage.URLOptions) (string, error) {
	if err := s.checkKey("url", key); err != nil {
		return "", err
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.opts.BaseURL + strings.Join(segs, "/"), nil
}

// checkKey fails for invalid keys and for keys that name temporary files.
func (s *Storage) checkKey(op, key string) error {
	if err := storage.CheckKey(backend, op, key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return &storage.Error{Backend: backend, Op: op, Key: strconv.Quote(key),
				Err: fmt.Errorf("%w: %s names temporary files", storage.ErrInvalidKey, tempPrefix)}
		}
	}
	return nil
}

// fail wraps err in the storage's error type. A path below a file ("a.txt/b") names
// no object: it is reported as missing.
func (s *Storage) fail(op, key string, err error) error {
	if pe, ok := err.(*fs.PathError); ok && pe.Path == key {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	if op != "save" && errors.Is(err, syscall.ENOTDIR) {
		err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return &storage.Error{Backend: backend, Op: op, Key: key, Err: err}
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
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
