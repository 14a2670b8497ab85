package field

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/gormfile/gormfile/storage"
)

// UploadToer is implemented by models that compute the name of a new file in Go, as a
// callable upload_to does in Django. UploadTo gets the Go name of the field and the
// client's cleaned file name and returns the name to store, directories included; its
// last segment is cleaned again and the result may not leave the storage's root.
type UploadToer interface {
	UploadTo(field, filename string) (string, error)
}

// SaveContext is what saving a column's new content needs; the plugin fills it.
type SaveContext struct {
	Storage  storage.Storage
	Settings *Settings
	// Row is the model value the column belongs to, for [UploadToer].
	Row any
	// Field is the Go name of the column's field.
	Field string
	// Now expands the upload-to date patterns.
	Now time.Time
}

// Save streams pending content to the storage and records the key it got. It does
// nothing when the value holds no pending content.
//
// A reader that can seek is rewound to its start first, as Django reads a file from
// its start: content read earlier (to check or hash it) is not lost. When the size was
// given with WithSize, content of another length fails the save and leaves no object.
// Content whose name tells no type is typed from its first 512 bytes.
func (f *File) Save(ctx context.Context, sc *SaveContext) error {
	if !f.Pending() {
		return nil
	}
	r, err := f.pending().content()
	if err != nil {
		return err
	}
	ctype := ""
	if storage.ContentTypeByName(f.pending().name) == "application/octet-stream" {
		br := bufio.NewReaderSize(r, 512)
		head, err := br.Peek(512)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return fmt.Errorf("field: reading %q: %w", f.pending().name, err)
		}
		if len(head) > 0 {
			ctype = http.DetectContentType(head)
		}
		r = br
	}
	return f.saveContent(ctx, sc, r, ctype)
}

// content returns the upload's reader, rewound when it can seek, and checked against
// the size given with WithSize.
func (up *upload) content() (io.Reader, error) {
	r := up.r
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("field: rewinding %q: %w", up.name, err)
		}
	}
	if up.size >= 0 {
		r = &sizedReader{r: r, name: up.name, want: up.size}
	}
	return r, nil
}

// ErrSizeMismatch is returned when content does not have the size given with WithSize.
var ErrSizeMismatch = errors.New("content size differs from the size given")

// sizedReader fails when its content is longer or shorter than want, so that a
// stream cut short never becomes a whole object.
type sizedReader struct {
	r    io.Reader
	name string
	want int64
	n    int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	switch {
	case s.n > s.want:
		return n, fmt.Errorf("field: %q: more than %d bytes: %w", s.name, s.want, ErrSizeMismatch)
	case err == io.EOF && s.n != s.want:
		return n, fmt.Errorf("field: %q: %d bytes, want %d: %w", s.name, s.n, s.want,
			ErrSizeMismatch)
	}
	return n, err
}

func (f *File) saveContent(ctx context.Context, sc *SaveContext, r io.Reader, ctype string) error {
	key, err := f.store(ctx, sc, r, ctype)
	if err != nil {
		return err
	}
	f.commit(sc, key)
	return nil
}

// store streams r to the storage under a key made for the pending content and returns
// the key written.
func (f *File) store(ctx context.Context, sc *SaveContext, r io.Reader,
	ctype string) (string, error) {
	key, err := newKey(sc, f.pending().name)
	if err != nil {
		return "", err
	}
	return sc.Storage.Save(ctx, key, r, &storage.SaveOptions{
		ContentType:  ctype,
		MaxKeyLength: sc.Settings.MaxLength,
		Size:         f.pending().size,
	})
}

// commit records that the pending content is saved under key.
func (f *File) commit(sc *SaveContext, key string) {
	up := f.pending()
	up.key, up.done, up.settings = key, true, sc.Settings
	f.b = &Binding{Storage: sc.Storage, Settings: sc.Settings, up: up}
}

// newKey builds the key for a client's file name: upload-to path plus cleaned base
// name, shortened in its stem to fit the column.
func newKey(sc *SaveContext, clientName string) (string, error) {
	name, err := ValidName(clientName)
	if err != nil {
		return "", err
	}
	var key string
	if u, ok := sc.Row.(UploadToer); ok {
		full, err := u.UploadTo(sc.Field, name)
		if err != nil {
			return "", fmt.Errorf("field: %s: upload_to: %w", sc.Field, err)
		}
		dir, base := path.Split(full)
		if name, err = ValidName(base); err != nil {
			return "", err
		}
		key, err = JoinUploadTo(dir, name)
		if err != nil {
			return "", err
		}
	} else {
		key, err = JoinUploadTo(ExpandUploadTo(sc.Settings.UploadTo, sc.Now), name)
		if err != nil {
			return "", err
		}
	}
	short, ok := storage.TruncateKey(key, sc.Settings.MaxLength)
	if !ok {
		return "", fmt.Errorf("field: %s: key %q cannot fit in %d bytes", sc.Field, key,
			sc.Settings.MaxLength)
	}
	return short, nil
}
