package field

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gormfile/gormfile/storage"
)

// ExpandUploadTo replaces the strftime patterns of an upload-to path with the parts of t,
// as Django does with upload_to="uploads/%Y/%m/%d/":
//
//	%Y  year, four digits       %y  year, two digits
//	%m  month, 01-12            %B  month name, "January"
//	%d  day of the month, 01-31 %b  month name, "Jan"
//	%H  hour, 00-23             %j  day of the year, 001-366
//	%M  minute, 00-59           %%  a "%"
//	%S  second, 00-59
//
// Any other "%" sequence is kept as written. The result is not cleaned: pass it to
// [JoinUploadTo].
func ExpandUploadTo(pattern string, t time.Time) string {
	if !strings.Contains(pattern, "%") {
		return pattern
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		switch pattern[i+1] {
		case 'Y':
			b.WriteString(pad(t.Year(), 4))
		case 'y':
			b.WriteString(pad(t.Year()%100, 2))
		case 'm':
			b.WriteString(pad(int(t.Month()), 2))
		case 'B':
			b.WriteString(t.Month().String())
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'd':
			b.WriteString(pad(t.Day(), 2))
		case 'j':
			b.WriteString(pad(t.YearDay(), 3))
		case 'H':
			b.WriteString(pad(t.Hour(), 2))
		case 'M':
			b.WriteString(pad(t.Minute(), 2))
		case 'S':
			b.WriteString(pad(t.Second(), 2))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte(c)
			continue
		}
		i++
	}
	return b.String()
}

// pad writes n in decimal with leading zeros up to width digits.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	if n >= 0 && len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// JoinUploadTo joins an expanded upload-to directory and a cleaned file name into a
// storage key. The directory may be written in any form ("uploads", "/uploads/",
// "uploads//2024\\01", "" for the root): backslashes become "/", and empty and "."
// segments are dropped. A ".." segment in the directory, or a name that is not a single
// segment, is refused with an error that wraps [storage.ErrInvalidKey], as are control
// characters and invalid UTF-8. The key is not checked for length: the caller shortens
// it to its column with [storage.TruncateKey].
func JoinUploadTo(dir, name string) (string, error) {
	clean, err := storage.CleanLocation(dir)
	if err != nil {
		return "", fmt.Errorf("field: upload-to %q: %w", dir, storage.ErrInvalidKey)
	}
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, `/\`):
		return "", fmt.Errorf("field: file name %q is not a single segment: %w",
			name, storage.ErrInvalidKey)
	case !keyText(clean):
		return "", fmt.Errorf("field: upload-to %q: %w", dir, storage.ErrInvalidKey)
	case !keyText(name):
		return "", fmt.Errorf("field: file name %q: %w", name, storage.ErrInvalidKey)
	}
	return storage.JoinLocation(clean, name), nil
}

// keyText reports whether s is valid UTF-8 without control characters.
func keyText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
