package field

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gormfile/gormfile/storage"
)

// Image is a [File] whose content must be an image. Its format and size are read from
// the image header when it is saved, without decoding the pixels; the pixels are
// decoded only when its field declares renditions.
type Image struct {
	File
}

// NewImage returns an Image that holds new content, as [NewFile] does.
func NewImage(r io.Reader, name string) Image {
	return Image{File: NewFile(r, name)}
}

// WithSize returns img with the content's length in bytes, as [File.WithSize]. A size
// above the field's max_bytes is then refused before anything is written.
func (img Image) WithSize(n int64) Image {
	img.File = img.File.WithSize(n)
	return img
}

// Width returns the width read from new content while it is saved (in GORM hooks that
// run before the save ends), 0 otherwise: once saved or loaded, the width is in the
// column the field's width_field tag names.
func (img Image) Width() int {
	if img.pending() == nil {
		return 0
	}
	return img.pending().width
}

// Height returns the height read from new content while it is saved, 0 otherwise; as
// for [Image.Width], the column that height_field names holds it.
func (img Image) Height() int {
	if img.pending() == nil {
		return 0
	}
	return img.pending().height
}

// Format returns the format ("png", "jpeg", ...) read when the image was saved.
func (img Image) Format() string {
	if img.pending() == nil {
		return ""
	}
	return img.pending().format
}

// ImageError reports content that an Image column refuses: not an image, a format the
// column does not accept, too many pixels, or an image that breaks the column's rules
// (max_bytes, min_width, max_width, min_height, max_height), or whose pixels cannot be
// decoded for its renditions. Nothing is left in the storage.
type ImageError struct {
	Field  string // the Go name of the field
	Name   string // the client's file name
	Reason string // Problems joined with "; "
	// Problems lists every rule the image breaks, one phrase each, such as
	// "width 1200 is more than max_width 1000"; it has at least one entry.
	Problems []string
	// Err is nil for broken rules, or wraps ErrNotImage, ErrCorrupt,
	// ErrUnsupportedFormat or ErrTooLarge, to be tested with errors.Is.
	Err error
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("field: %s: %q refused: %s", e.Field, e.Name, e.Reason)
}

func (e *ImageError) Unwrap() error { return e.Err }

// ErrTooLarge is wrapped by the [*ImageError] of an image larger than its field's
// max_bytes.
var ErrTooLarge = errors.New("content larger than max_bytes")

// refuse returns the ImageError for problems found in the upload's content.
func (up *upload) refuse(sc *SaveContext, problems []string, err error) *ImageError {
	return &ImageError{Field: sc.Field, Name: up.name, Reason: strings.Join(problems, "; "),
		Problems: problems, Err: err}
}

// Save reads the pending image's header, checks it against the column's settings, and
// streams the whole content to the storage. The header bytes read are held in memory
// (at most [MaxImageHeaderBytes]) and sent first.
//
// Every rule the header or the size given with WithSize breaks is reported at once in
// an [*ImageError], before anything is written. A content of unknown size is counted
// as it streams: once it passes max_bytes the upload fails and leaves no object.
//
// When the field declares renditions, the content is decoded as it streams to the
// storage (it is read once), and each rendition is saved under [RenditionKey] once the
// original is stored; see [Rendition]. If any of them fails, the original and the
// renditions already written are deleted before Save returns the error.
func (img *Image) Save(ctx context.Context, sc *SaveContext) error {
	if !img.Pending() {
		return nil
	}
	up := img.pending()
	r, err := up.content()
	if err != nil {
		return err
	}
	var head bytes.Buffer
	info, err := ReadImageHeader(io.TeeReader(io.LimitReader(r, MaxImageHeaderBytes), &head))
	if err != nil && !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrCorrupt) &&
		!errors.Is(err, ErrUnsupportedFormat) {
		return fmt.Errorf("field: %s: reading %q: %w", sc.Field, up.name, err)
	}
	if problems, cause := checkImage(sc.Settings, up.size, info, err); len(problems) > 0 {
		return up.refuse(sc, problems, cause)
	}

	headLen := head.Len()
	end := newEndReader(io.MultiReader(&head, r), info.Format, headLen)
	stream := end
	var limit *maxBytesReader
	if max := sc.Settings.MaxBytes; max > 0 && up.size < 0 {
		limit = &maxBytesReader{r: stream, max: max}
		stream = limit
	}
	var key string
	var renditions []string
	if len(sc.Settings.Renditions) == 0 {
		key, err = img.store(ctx, sc, stream, info.ContentType)
	} else {
		key, renditions, err = img.saveWithRenditions(ctx, sc, stream, info)
	}
	if err != nil {
		if e, ok := end.(*endReader); ok && e.failed {
			return up.refuse(sc, []string{"the file is cut short"},
				fmt.Errorf("field: %s: %w", sc.Field, ErrCorrupt))
		}
		if limit != nil && limit.over {
			return up.refuse(sc, []string{fmt.Sprintf("more than max_bytes %d bytes",
				limit.max)}, fmt.Errorf("field: %s: %w", sc.Field, ErrTooLarge))
		}
		return err
	}
	up.width, up.height, up.format = info.Width, info.Height, info.Format
	up.renditions = renditions
	img.commit(sc, key)
	return nil
}

// checkImage returns every rule of s that an image breaks, from its header (or the
// error reading it) and its size in bytes (-1 when unknown), and the errors to wrap.
func checkImage(s *Settings, size int64, info ImageInfo, headerErr error) ([]string, error) {
	var problems []string
	var causes []error
	if s.MaxBytes > 0 && size > s.MaxBytes {
		problems = append(problems, fmt.Sprintf("%d bytes is more than max_bytes %d", size,
			s.MaxBytes))
		causes = append(causes, ErrTooLarge)
	}
	if headerErr != nil {
		problems = append(problems, headerErr.Error())
		causes = append(causes, headerErr)
		return problems, errors.Join(causes...)
	}

	formats := s.Formats
	if len(formats) == 0 {
		formats = DefaultImageFormats
	}
	if !slices.Contains(formats, info.Format) {
		problems = append(problems, fmt.Sprintf("format %s is not accepted (accepted: %s)",
			info.Format, strings.Join(formats, ", ")))
	}
	maxPixels := s.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if int64(info.Width)*int64(info.Height) > maxPixels {
		problems = append(problems, fmt.Sprintf("%d×%d pixels is more than the limit of %d",
			info.Width, info.Height, maxPixels))
	}
	for _, b := range []struct {
		side      string
		got, want int
		max       bool
	}{
		{"width", info.Width, s.MinWidth, false},
		{"width", info.Width, s.MaxWidth, true},
		{"height", info.Height, s.MinHeight, false},
		{"height", info.Height, s.MaxHeight, true},
	} {
		switch {
		case b.want <= 0:
		case b.max && b.got > b.want:
			problems = append(problems, fmt.Sprintf("%s %d is more than max_%s %d", b.side,
				b.got, b.side, b.want))
		case !b.max && b.got < b.want:
			problems = append(problems, fmt.Sprintf("%s %d is less than min_%s %d", b.side,
				b.got, b.side, b.want))
		}
	}
	return problems, errors.Join(causes...)
}

// maxBytesReader fails once more than max bytes were read from r.
type maxBytesReader struct {
	r    io.Reader
	max  int64
	n    int64
	over bool
}

func (m *maxBytesReader) Read(p []byte) (int, error) {
	if left := m.max + 1 - m.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.n > m.max {
		m.over = true
		return n, fmt.Errorf("field: more than %d bytes: %w", m.max, ErrTooLarge)
	}
	return n, err
}

// deleteObjects removes objects written by a save that failed, even when ctx has
// ended, and returns the errors of those it could not remove.
func deleteObjects(ctx context.Context, st storage.Storage, keys ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("field: removing %s after a failed save: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// withCleanup adds to err the failure to remove what a failed save wrote, if any.
func withCleanup(err, cleanupErr error) error {
	if cleanupErr == nil {
		return err
	}
	return errors.Join(err, cleanupErr)
}
