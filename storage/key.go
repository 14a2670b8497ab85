package storage

import (
	"crypto/rand"
	"fmt"
	"mime"
	"path"
	"strings"
	"unicode/utf8"
)

// ValidKey reports whether key can name an object: not empty, relative, valid UTF-8,
// without "." or ".." segments, empty segments ("//", a trailing "/"), backslashes or
// control characters.
func ValidKey(key string) bool {
	if key == "" || len(key) > 1024 || !utf8.ValidString(key) {
		return false
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// CheckKey returns an [*Error] wrapping [ErrInvalidKey] when key is not valid.
func CheckKey(backend, op, key string) error {
	if ValidKey(key) {
		return nil
	}
	return &Error{Backend: backend, Op: op, Key: fmt.Sprintf("%q", key), Err: ErrInvalidKey}
}

// CleanLocation turns a location prefix written in any form ("/media/", "media",
// "media//x/") into one form: no leading or trailing slash, no empty, "." or ".."
// segments. The empty string means the storage's root.
func CleanLocation(loc string) (string, error) {
	var segs []string
	for seg := range strings.SplitSeq(strings.ReplaceAll(loc, "\\", "/"), "/") {
		switch seg {
		case "", ".":
		case "..":
			return "", fmt.Errorf("location %q: %w", loc, ErrInvalidKey)
		default:
			segs = append(segs, seg)
		}
	}
	return strings.Join(segs, "/"), nil
}

// JoinLocation puts key under the cleaned location loc.
func JoinLocation(loc, key string) string {
	if loc == "" {
		return key
	}
	return loc + "/" + key
}

// SplitExt splits the last segment of key into its stem and its extensions, as Django
// does: "a/archive.tar.gz" gives "a/archive" and ".tar.gz"; ".hidden" has no extension.
func SplitExt(key string) (stem, ext string) {
	dir := key[:strings.LastIndexByte(key, '/')+1]
	base := key[len(dir):]
	trimmed := strings.TrimLeft(base, ".")
	i := strings.IndexByte(trimmed, '.')
	if i < 0 {
		return key, ""
	}
	i += len(base) - len(trimmed)
	return dir + base[:i], base[i:]
}

// TruncateKey shortens key to at most max bytes by cutting the end of its stem,
// keeping its directory and extensions and never splitting a UTF-8 character. It
// returns false when even an empty stem would not fit.
func TruncateKey(key string, max int) (string, bool) {
	if max <= 0 || len(key) <= max {
		return key, true
	}
	stem, ext := SplitExt(key)
	dir := stem[:strings.LastIndexByte(stem, '/')+1]
	name := stem[len(dir):]
	keep := len(name) - (len(key) - max)
	if keep < 1 {
		return "", false
	}
	for keep > 0 && !utf8.RuneStart(name[keep]) {
		keep--
	}
	if keep == 0 {
		return "", false
	}
	return dir + name[:keep] + ext, true
}

const altAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// AlternativeName returns key with "_" and 7 random letters or digits put before its
// extensions ("a/report.bin" → "a/report_x7Gq2Ab.bin"), the stem shortened so that the
// result fits in max bytes when max > 0. It fails when no stem fits.
func AlternativeName(key string, max int) (string, error) {
	var b [7]byte
	for i := 0; i < len(b); {
		var r [16]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", err
		}
		for _, c := range r {
			// Keep only bytes below the largest multiple of the alphabet's size, so
			// that every letter is as likely as the others.
			if i < len(b) && int(c) < 256-256%len(altAlphabet) {
				b[i] = altAlphabet[int(c)%len(altAlphabet)]
				i++
			}
		}
	}
	stem, ext := SplitExt(key)
	suffix := "_" + string(b[:]) + ext
	if max > 0 && len(stem)+len(suffix) > max {
		dir := stem[:strings.LastIndexByte(stem, '/')+1]
		name := stem[len(dir):]
		keep := max - len(suffix) - len(dir)
		for keep > 0 && !utf8.RuneStart(name[keep]) {
			keep--
		}
		if keep <= 0 {
			return "", fmt.Errorf("key %q: no free name fits in %d bytes", key, max)
		}
		stem = dir + name[:keep]
	}
	return stem + suffix, nil
}

// contentTypes is consulted before the system's table, so that the answer does not
// depend on the machine: the system's mime.types differ, and some map ".js" to
// "application/javascript" and ".gz" to an encoding.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".csv":   "text/csv; charset=utf-8",
	".gif":   "image/gif",
	".gz":    "application/gzip",
	".htm":   "text/html; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".ico":   "image/vnd.microsoft.icon",
	".jpeg":  "image/jpeg",
	".jpg":   "image/jpeg",
	".js":    "text/javascript; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".mjs":   "text/javascript; charset=utf-8",
	".pdf":   "application/pdf",
	".png":   "image/png",
	".svg":   "image/svg+xml",
	".tar":   "application/x-tar",
	".txt":   "text/plain; charset=utf-8",
	".wasm":  "application/wasm",
	".webp":  "image/webp",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".xml":   "text/xml; charset=utf-8",
	".zip":   "application/zip",
}

// ContentTypeByName returns the content type for key's last extension, or
// "application/octet-stream". A compressed file keeps the type of its compression
// ("x.csv.gz" is application/gzip): no Content-Encoding is implied.
func ContentTypeByName(key string) string {
	ext := strings.ToLower(path.Ext(key))
	if ext == "" {
		return "application/octet-stream"
	}
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
