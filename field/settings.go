package field

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"gorm.io/gorm/schema"
)

// DefaultMaxPixels is the largest width × height an Image column accepts unless its tag
// says otherwise: about 89 megapixels, the bound the common Python imaging library uses
// against decompression bombs.
const DefaultMaxPixels = 1024 * 1024 * 1024 / 4 / 3

// DefaultImageFormats are the formats an Image column accepts unless its tag says
// otherwise.
var DefaultImageFormats = []string{"png", "jpeg", "gif", "webp"}

// Settings are a file column's settings, read from its `file` struct tag.
//
// They can also be set in Go: a model that implements [FileSettingser] changes the
// settings read from its tags, and [ResolveSettings] applies such a model's changes
// and checks the result. A zero Formats or MaxPixels means the default
// ([DefaultImageFormats], [DefaultMaxPixels]); any other zero value means no rule.
type Settings struct {
	// UploadTo is the directory part of new keys, with Django's date patterns.
	UploadTo string
	// Storage names the plugin's storage that holds the column's objects.
	Storage string
	// MaxLength bounds the key's length: the column's size.
	MaxLength int

	// WidthField and HeightField name the model's fields (Go or column names) that
	// receive an image's dimensions when it is saved.
	WidthField, HeightField string
	// Formats are the image formats accepted.
	Formats []string
	// MaxPixels bounds an image's width × height.
	MaxPixels int64

	// MaxBytes bounds an image's size in bytes; 0 means no bound. A size given with
	// WithSize is checked before anything is written; otherwise the upload fails, and
	// leaves no object, once its content grows past the bound.
	MaxBytes int64
	// MinWidth, MaxWidth, MinHeight and MaxHeight bound an image's displayed size in
	// pixels (after its EXIF orientation); 0 means no bound.
	MinWidth, MaxWidth, MinHeight, MaxHeight int

	// Renditions are the resized copies of an image saved beside it.
	Renditions []Rendition
}

// FileSettingser is implemented by models that set their file columns' settings in Go
// rather than, or on top of, struct tags. FileSettings gets the Go name of a field and
// the settings read from its tag, and changes them in place. It is called once per
// model type, on a zero value, when the model's columns are first read: the settings
// are the column's, not a row's.
type FileSettingser interface {
	FileSettings(field string, s *Settings)
}

// ResolveSettings returns the settings of the field named goField (its Go name) of
// model: those of its `file` tag, read with [ParseSettings], then changed by the
// model's FileSettings method when it implements [FileSettingser], then checked with
// [Settings.Check]. model may be nil or a zero value of the model's type.
func ResolveSettings(model any, goField, tag string, size int) (*Settings, error) {
	s, err := ParseSettings(tag, size)
	if err != nil {
		return nil, err
	}
	fs, ok := model.(FileSettingser)
	if !ok {
		return s, nil
	}
	s.Formats = append([]string(nil), s.Formats...)
	fs.FileSettings(goField, s)
	if s.MaxLength <= 0 {
		s.MaxLength = DefaultMaxLength
	}
	if s.Storage == "" {
		s.Storage = "default"
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("field: %s: settings from FileSettings: %w", goField, err)
	}
	return s, nil
}

// Check reports settings that cannot work: a negative bound, a minimum above its
// maximum, or renditions with an invalid or repeated name or without a bound.
func (s *Settings) Check() error {
	var errs []error
	if s.MaxPixels < 0 || s.MaxBytes < 0 || s.MinWidth < 0 || s.MaxWidth < 0 ||
		s.MinHeight < 0 || s.MaxHeight < 0 {
		errs = append(errs, errors.New("a size or pixel bound is negative"))
	}
	if s.MaxWidth > 0 && s.MinWidth > s.MaxWidth {
		errs = append(errs, fmt.Errorf("min_width %d is above max_width %d", s.MinWidth,
			s.MaxWidth))
	}
	if s.MaxHeight > 0 && s.MinHeight > s.MaxHeight {
		errs = append(errs, fmt.Errorf("min_height %d is above max_height %d", s.MinHeight,
			s.MaxHeight))
	}
	seen := map[string]bool{}
	for _, r := range s.Renditions {
		switch {
		case !validRenditionName(r.Name):
			errs = append(errs, fmt.Errorf("rendition name %q: want letters a-z, digits, "+
				"'_' or '-'", r.Name))
		case seen[r.Name]:
			errs = append(errs, fmt.Errorf("rendition %q declared twice", r.Name))
		}
		seen[r.Name] = true
		if r.Width < 0 || r.Height < 0 || r.Width == 0 && r.Height == 0 {
			errs = append(errs, fmt.Errorf("rendition %q: %dx%d: want a positive width, "+
				"height or both", r.Name, r.Width, r.Height))
		}
	}
	return errors.Join(errs...)
}

// validRenditionName reports whether name is made of [a-z0-9_-] only, and not empty.
func validRenditionName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseRenditions reads "thumb=200x200,card=600x0": a name, "=", a width, "x" and a
// height for each rendition, the bounds in pixels, 0 for a free side.
func parseRenditions(value string) ([]Rendition, error) {
	var out []Rendition
	for item := range strings.SplitSeq(value, ",") {
		item = strings.TrimSpace(item)
		name, box, ok := strings.Cut(item, "=")
		w, h, okBox := strings.Cut(strings.ToLower(strings.TrimSpace(box)), "x")
		if !ok || !okBox {
			return nil, fmt.Errorf("rendition %q: want NAME=WIDTHxHEIGHT", item)
		}
		width, errW := strconv.ParseUint(w, 10, 16)
		height, errH := strconv.ParseUint(h, 10, 16)
		if errW != nil || errH != nil {
			return nil, fmt.Errorf("rendition %q: width and height are numbers of pixels "+
				"from 0 to 65535", item)
		}
		out = append(out, Rendition{Name: strings.TrimSpace(name), Width: int(width),
			Height: int(height)})
	}
	return out, nil
}

// Rendition is a named, resized copy of an image, made when the image is saved and
// stored under [RenditionKey]. The image is scaled to fit inside Width × Height,
// keeping its proportions and never enlarged; a zero bound leaves that side free.
//
// The image is turned upright by its EXIF orientation, resampled with the Catmull-Rom
// kernel of golang.org/x/image/draw, and encoded as JPEG (quality 85, transparent
// parts on white) when the key ends in .jpg or .jpeg, as PNG otherwise. A GIF gives its
// first frame. Making renditions decodes the image: it holds up to 4 bytes per pixel
// of the original (8 for 16-bit PNG) in memory while the image is saved, which the
// field's max_pixels bounds; a TIFF is also held whole as it is read.
type Rendition struct {
	Name          string
	Width, Height int
}

// RenditionKey returns the key of the rendition name of the image under key: the key
// with "@NAME.jpg" appended when it ends in .jpg or .jpeg, "@NAME.png" otherwise
// ("devicetype-images/front.png" → "devicetype-images/front.png@thumb.png"). It is a
// function of the key alone, so that a loaded row finds its renditions. No cleaned
// file name holds "@", so no upload's key is ever a rendition key: an object found
// under one is a stale rendition, which a new one replaces.
func RenditionKey(key, name string) string {
	ext := ".png"
	switch strings.ToLower(path.Ext(key)) {
	case ".jpg", ".jpeg":
		ext = ".jpg"
	}
	return key + "@" + name + ext
}

// ParseSettings reads a `file` struct tag ("upload_to:x;storage:media;...") with GORM's
// tag parser. size is the column's size from the gorm tag, 0 when none. Unknown
// settings are an error, so that a typo does not pass silently.
func ParseSettings(tag string, size int) (*Settings, error) {
	s := &Settings{
		Storage:   "default",
		MaxLength: size,
		Formats:   DefaultImageFormats,
		MaxPixels: DefaultMaxPixels,
	}
	if s.MaxLength <= 0 {
		s.MaxLength = DefaultMaxLength
	}
	for name, value := range schema.ParseTagSetting(tag, ";") {
		switch name {
		case "UPLOAD_TO":
			s.UploadTo = value
		case "STORAGE":
			if value != "" {
				s.Storage = value
			}
		case "WIDTH_FIELD":
			s.WidthField = value
		case "HEIGHT_FIELD":
			s.HeightField = value
		case "FORMATS":
			s.Formats = nil
			for f := range strings.SplitSeq(value, ",") {
				if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
					s.Formats = append(s.Formats, f)
				}
			}
		case "MAX_PIXELS", "MAX_BYTES", "MIN_WIDTH", "MAX_WIDTH", "MIN_HEIGHT", "MAX_HEIGHT":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n <= 0 || name != "MAX_PIXELS" && name != "MAX_BYTES" &&
				n > math.MaxInt32 {
				return nil, fmt.Errorf("field: tag %q: %s: want a positive number", tag,
					strings.ToLower(name))
			}
			switch name {
			case "MAX_PIXELS":
				s.MaxPixels = n
			case "MAX_BYTES":
				s.MaxBytes = n
			case "MIN_WIDTH":
				s.MinWidth = int(n)
			case "MAX_WIDTH":
				s.MaxWidth = int(n)
			case "MIN_HEIGHT":
				s.MinHeight = int(n)
			case "MAX_HEIGHT":
				s.MaxHeight = int(n)
			}
		case "RENDITIONS":
			r, err := parseRenditions(value)
			if err != nil {
				return nil, fmt.Errorf("field: tag %q: renditions: %w", tag, err)
			}
			s.Renditions = r
		default:
			return nil, fmt.Errorf("field: tag %q: unknown setting %q", tag, strings.ToLower(name))
		}
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("field: tag %q: %w", tag, err)
	}
	return s, nil
}
