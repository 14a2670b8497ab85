package field

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NameError reports a client file name that cannot be used.
type NameError struct {
	Name   string // the name as the client sent it
	Reason string
}

func (e *NameError) Error() string {
	return "field: invalid file name " + quote(e.Name) + ": " + e.Reason
}

// quote writes name in Go's quoted form, cut to the first 200 bytes.
func quote(name string) string {
	const max = 200
	if len(name) <= max {
		return strconv.Quote(name)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return strconv.Quote(name[:cut]) + "..."
}

// ValidName returns the cleaned base name of a client's file name, as Django's
// get_valid_filename does on the base name:
//
//   - the base name is what follows the last "/" or "\", so "C:\Users\me\cfg.txt"
//     gives "cfg.txt" and "../../etc/passwd" gives "passwd";
//   - white space is trimmed at both ends, as Python's str.strip does;
//   - each inner space becomes "_";
//   - every character that is not a letter or a number (in any script), "_", "-" or
//     "." is removed, as Python's regular expression [^-\w.] does: combining marks
//     go too, so a decomposed "é" loses its accent.
//
// A result of "", "." or ".." is refused with a [*NameError].
func ValidName(name string) (string, error) {
	base := name[strings.LastIndexAny(name, `/\`)+1:]
	base = strings.TrimFunc(base, isPythonSpace)

	var b strings.Builder
	b.Grow(len(base))
	for _, r := range base {
		switch {
		case r == ' ':
			b.WriteByte('_')
		case r == '-' || r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}

	s := b.String()
	switch {
	case base == "":
		return "", &NameError{Name: name, Reason: "no base name"}
	case s == "", s == ".", s == "..":
		return "", &NameError{Name: name, Reason: "nothing usable is left after cleaning"}
	}
	return s, nil
}

// isPythonSpace reports whether Python's str.isspace holds for r: Go's white space
// plus the four information separators U+001C to U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
