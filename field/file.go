// Package field provides the GORM column types [File] and [Image].
//
// A column of either type holds an object key in an ordinary string column (VARCHAR of
// the size the gorm tag sets, 255 by default). "No file" is written as the empty string,
// as Django writes it, and both NULL and ” read back as no file.
//
// # Attaching content
//
// [NewFile] and [NewImage] attach a stream and the client's file name to a column
// value. Nothing is read until the row is saved: the plugin at the module root then
// streams the content to the field's storage under a key made of the field's upload-to
// path and the cleaned file name, and writes the key into the row.
//
// # Settings
//
// A field's settings come from its `file` struct tag, read with GORM's tag parser:
//
//	Front field.Image `gorm:"index" file:"upload_to:front;width_field:FrontW;height_field:FrontH"`
//	File  field.File  `gorm:"index" file:"upload_to:uploads/%Y/%m;storage:media"`
//
// upload_to is a path with Django's date patterns (%Y %m %d %H %M %S); a model that
// implements [UploadToer] computes it in Go instead. storage names one of the plugin's
// storages ("default" when absent). An Image column also takes width_field and
// height_field, formats (accepted formats, "png,jpeg,gif,webp" by default) and
// max_pixels (largest width × height, [DefaultMaxPixels] by default); see [Settings].
//
// # Image rules and renditions
//
// An Image column takes rules and renditions too:
//
//	Photo field.Image `file:"upload_to:photos;min_width:200;renditions:thumb=200x200,card=600x0"`
//
// formats, max_pixels, max_bytes, min_width, max_width, min_height and max_height are
// checked before anything is written (max_bytes while the content streams when its
// size is not given), and an image that breaks any of them is refused with an
// [*ImageError] that lists every broken rule. Each rendition NAME=WxH is a copy of the
// image scaled to fit inside W×H (0 leaves a side free), made when the image is saved,
// stored beside it under [RenditionKey], reachable as URL(ctx, "NAME"), and replaced
// and deleted with it. A model that implements [FileSettingser] sets the same
// [Settings] in Go.
//
// # After a query
//
// Loading rows never touches the storage: the plugin only tells each value which
// storage holds it, so that [File.URL], [File.Open] and [File.Size] work.
package field

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/gormfile/gormfile/storage"
)

// File is a column that names an object in a storage.
//
// The zero File holds no file. Copies of a File share its pending upload, so a value
// passed to GORM by value (Updates with a struct or a map) still receives its key.
type File struct {
	key string
	// b is the column's Binding once the value is bound, shared with the column's other
	// values; while the value holds new content, b is a Binding of its own that also
	// carries the upload. One pointer: a slice of loaded rows is as small as it can be.
	b *Binding
}

// Binding is what a column value learns of its field after a query or a save: the
// storage that holds its objects and the field's settings. The plugin keeps one per
// column and shares it among the column's values, so that loading rows costs one
// pointer per value.
type Binding struct {
	Storage  storage.Storage
	Settings *Settings

	up *upload // the content of the one value that holds this Binding, if any
}

// pending returns the value's new content, or nil.
func (f File) pending() *upload {
	if f.b == nil {
		return nil
	}
	return f.b.up
}

// bound returns the binding the value was given, or nil.
func (f File) bound() *Binding {
	if f.b == nil || f.b.Storage == nil && f.b.Settings == nil {
		return nil
	}
	return f.b
}

// withUpload returns binding b (which may be nil) carrying up.
func withUpload(b *Binding, up *upload) *Binding {
	switch {
	case up == nil:
		return b
	case b == nil:
		return &Binding{up: up}
	}
	return &Binding{Storage: b.Storage, Settings: b.Settings, up: up}
}

// withoutUpload returns the binding that f has, without its upload.
func (f File) withoutUpload() *Binding {
	if f.b == nil || f.b.up == nil {
		return f.b
	}
	if b := f.bound(); b != nil {
		return &Binding{Storage: b.Storage, Settings: b.Settings}
	}
	return nil
}

// upload is content waiting to be saved. It is shared by copies of the File.
type upload struct {
	r    io.Reader
	name string
	size int64

	done bool
	key  string
	// width, height and format are set for images.
	width, height int
	format        string
	// settings are the field's, once saved; renditions lists the keys of the
	// renditions saved with an image.
	settings   *Settings
	renditions []string
}

// NewFile returns a File that holds new content: r is read when the row is saved, and
// name is the client's file name, of which only the cleaned base name is kept. The
// caller closes r, if it needs closing, after the save.
func NewFile(r io.Reader, name string) File {
	return File{b: &Binding{up: &upload{r: r, name: name, size: -1}}}
}

// WithSize returns f with the content's length in bytes, when the caller knows it; the
// storage may then pick the cheapest way to send it. It changes nothing else.
func (f File) WithSize(n int64) File {
	if f.pending() != nil {
		f.pending().size = n
	}
	return f
}

// Key returns the object key the column holds, or "" when it holds no file. For a value
// whose content is not yet saved it returns "".
func (f File) Key() string {
	if f.pending() != nil {
		return f.pending().key
	}
	return f.key
}

// String returns the key, as Django's FieldFile does.
func (f File) String() string { return f.Key() }

// IsZero reports whether the column holds no file and no pending content.
func (f File) IsZero() bool { return f.pending() == nil && f.key == "" }

// ContentID identifies the value's pending content, which copies of the value share:
// two values with equal, non-nil ContentIDs hold the same stream, to be saved once. It
// is nil when the value holds no pending content.
func (f File) ContentID() any {
	if f.pending() == nil {
		return nil
	}
	return f.pending()
}

// Pending reports whether the value holds content that is not saved yet.
func (f File) Pending() bool { return f.pending() != nil && !f.pending().done }

// Storage returns the storage that holds the object, once the value was loaded or saved
// through the plugin; nil before.
func (f File) Storage() storage.Storage {
	if f.bound() == nil {
		return nil
	}
	return f.bound().Storage
}

// RenditionKeys returns the keys of the renditions saved with the value's new content,
// for an Image whose field declares renditions; nil otherwise.
func (f File) RenditionKeys() []string {
	if f.pending() == nil {
		return nil
	}
	return f.pending().renditions
}

// Clear empties the column: when the row is saved the column becomes the empty string
// and the old object is deleted after the transaction commits.
func (f *File) Clear() {
	f.key, f.b = "", f.withoutUpload()
}

// Bind tells the value which storage holds its object and its field's settings. The
// plugin calls it after a query and after a save.
func (f *File) Bind(b *Binding) {
	up := f.pending()
	if up != nil && up.done {
		f.key, up = up.key, nil
	}
	f.b = withUpload(b, up)
}

// ErrNoFile is returned by the methods that reach the storage when the column holds no
// file.
var ErrNoFile = errors.New("field: the column holds no file")

// ErrUnbound is returned by the methods that reach the storage when the value has no
// storage: it was neither loaded nor saved through the plugin.
var ErrUnbound = errors.New("field: no storage: the value was not loaded or saved " +
	"through the gormfile plugin")

func (f File) object() (storage.Storage, string, error) {
	key := f.Key()
	switch {
	case key == "":
		return nil, "", ErrNoFile
	case f.bound() == nil || f.bound().Storage == nil:
		return nil, "", ErrUnbound
	}
	return f.bound().Storage, key, nil
}

// URL returns an address at which the file can be read: a plain or a signed URL, as its
// storage is configured. With the name of one of the field's renditions
// (URL(ctx, "thumb")) it returns the rendition's address.
func (f File) URL(ctx context.Context, rendition ...string) (string, error) {
	return f.URLWith(ctx, nil, rendition...)
}

// URLWith returns an address for the file, or one of its renditions, with options such
// as the expiry of a signed URL or the name the browser saves it under.
func (f File) URLWith(ctx context.Context, opts *storage.URLOptions,
	rendition ...string) (string, error) {
	s, key, err := f.object()
	if err != nil {
		return "", err
	}
	if len(rendition) > 0 && rendition[0] != "" {
		if key, err = f.renditionKey(key, rendition[0]); err != nil {
			return "", err
		}
	}
	return s.URL(ctx, key, opts)
}

// renditionKey returns the key of the named rendition of the object under key.
func (f File) renditionKey(key, name string) (string, error) {
	var settings *Settings
	if f.bound() != nil {
		settings = f.bound().Settings
	}
	if settings == nil && f.pending() != nil {
		settings = f.pending().settings
	}
	if settings != nil {
		for _, r := range settings.Renditions {
			if r.Name == name {
				return RenditionKey(key, name), nil
			}
		}
	}
	return "", fmt.Errorf("field: no rendition %q declared for this column", name)
}

// Open returns a stream of the file's content; the caller closes it.
func (f File) Open(ctx context.Context) (io.ReadCloser, error) {
	s, key, err := f.object()
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, key)
}

// Size returns the file's size in bytes, asking the storage.
func (f File) Size(ctx context.Context) (int64, error) {
	s, key, err := f.object()
	if err != nil {
		return 0, err
	}
	a, err := s.Stat(ctx, key)
	if err != nil {
		return 0, err
	}
	return a.Size, nil
}

// Scan reads the key from the database. NULL and ” both mean no file.
func (f *File) Scan(src any) error {
	var key string
	switch v := src.(type) {
	case nil:
	case string:
		key = v
	case []byte:
		key = string(v)
	default:
		return fmt.Errorf("field: cannot scan %T into a file column", src)
	}
	*f = File{key: key, b: f.withoutUpload()}
	return nil
}

// Value returns the key to write. Content that was attached but not saved is an error,
// never an empty column: it means the plugin is not registered on the *gorm.DB.
func (f File) Value() (driver.Value, error) {
	if f.pending() != nil {
		if !f.pending().done {
			return nil, fmt.Errorf("field: file %q was not saved: register the gormfile "+
				"plugin with db.Use", f.pending().name)
		}
		return f.pending().key, nil
	}
	return f.key, nil
}

// GormDataType returns the generic data type of the column.
func (File) GormDataType() string { return "string" }

// DefaultMaxLength is the size of a file column whose gorm tag sets none.
const DefaultMaxLength = 255

// GormDBDataType returns the column type: a VARCHAR of the field's size (255 when the
// gorm tag sets none) where the database has one.
func (File) GormDBDataType(db *gorm.DB, f *schema.Field) string {
	sized := *f
	if sized.Size == 0 {
		sized.Size = DefaultMaxLength
	}
	sized.DataType = schema.String
	return db.Dialector.DataTypeOf(&sized)
}
