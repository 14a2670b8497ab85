package field

import (
	"fmt"
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

	// Renditions are the resized copies of an image saved beside it.
	Renditions []Rendition
}

// Rendition is a named, resized copy of an image, made when the image is saved and
// stored under [RenditionKey]. The image is scaled to fit inside Width × Height,
// keeping its proportions and never enlarged; a zero bound leaves that side free.
type Rendition struct {
	Name          string
	Width, Height int
}

// RenditionKey returns the key of the rendition name of the image under key: the key
// with ".NAME.jpg" appended when it ends in .jpg or .jpeg, ".NAME.png" otherwise
// ("devicetype-images/front.png" → "devicetype-images/front.png.thumb.png"). It is a
// function of the key alone, so that a loaded row finds its renditions.
func RenditionKey(key, name string) string {
	ext := ".png"
	switch strings.ToLower(path.Ext(key)) {
	case ".jpg", ".jpeg":
		ext = ".jpg"
	}
	return key + "." + name + ext
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
		case "MAX_PIXELS":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("field: tag %q: max_pixels: want a positive number", tag)
			}
			s.MaxPixels = n
		default:
			return nil, fmt.Errorf("field: tag %q: unknown setting %q", tag, strings.ToLower(name))
		}
	}
	return s, nil
}
