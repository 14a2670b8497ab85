package staticfiles

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/gormfile/gormfile/storage"
)

// ManifestName is the key of the manifest [Collect] publishes with Options.Manifest,
// the name Django's ManifestStaticFilesStorage reads.
const ManifestName = "staticfiles.json"

// hashLength is the number of hex digits of the content's MD5 digest put in hashed
// names, as Django does.
const hashLength = 12

// Manifest maps the original names of published files to their hashed names, in the
// form of Django's staticfiles.json.
type Manifest struct {
	// Paths maps each original key ("css/app.css") to its hashed key
	// ("css/app.3f2a9c1b0e4d.css").
	Paths   map[string]string `json:"paths"`
	Version string            `json:"version"`
	// Hash digests Paths: it changes whenever one name does.
	Hash string `json:"hash"`
}

// LoadManifest reads the manifest published under key in st; an empty key means
// [ManifestName].
func LoadManifest(ctx context.Context, st storage.Storage, key string) (*Manifest, error) {
	if key == "" {
		key = ManifestName
	}
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("staticfiles: manifest: %w", err)
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("staticfiles: manifest %s: %w", key, err)
	}
	return &m, nil
}

// HashedName returns the hashed key published for the original key name.
func (m *Manifest) HashedName(name string) (string, bool) {
	h, ok := m.Paths[name]
	return h, ok
}

// URL returns the address of the hashed copy of the original key name in st. A name
// the manifest does not hold fails with an error satisfying fs.ErrNotExist.
func (m *Manifest) URL(ctx context.Context, st storage.Storage, name string) (string, error) {
	h, ok := m.Paths[name]
	if !ok {
		return "", fmt.Errorf("staticfiles: %s: not in the manifest: %w", name, fs.ErrNotExist)
	}
	return st.URL(ctx, h, nil)
}

// hashedName puts the first hashLength digits of the hex digest sum before the last
// extension of key: "css/app.css" gives "css/app.3f2a9c1b0e4d.css".
func hashedName(key, sum string) string {
	ext := path.Ext(key)
	if strings.HasPrefix(path.Base(key), ".") && ext == path.Base(key) {
		ext = ""
	}
	return strings.TrimSuffix(key, ext) + "." + sum[:hashLength] + ext
}

// cssReference finds the references of a stylesheet, as Django's manifest storage
// does: url(...), @import "..." and a source map comment.
var cssReference = regexp.MustCompile(`url\(\s*(['"]?)\s*([^'")]*?)\s*['"]?\s*\)` +
	`|@import\s*(['"])\s*([^'"]*?)\s*['"]` +
	`|/\*#\s*sourceMappingURL=(\S+)\s*\*/`)

// withManifest returns files with their hashed copies, stylesheets' references
// rewritten to hashed names, and the manifest; the files keep precedence over copies
// of the same key.
func withManifest(ctx context.Context, files []sourceFile, jobs int) ([]sourceFile,
	*Manifest, error) {
	b := &manifestBuilder{
		byKey:  make(map[string]*sourceFile, len(files)),
		hashed: make(map[string]string, len(files)),
		state:  map[string]int{},
	}
	for i := range files {
		b.byKey[files[i].key] = &files[i]
	}

	// The digests of all files, and the content of stylesheets, read concurrently.
	var mu sync.Mutex
	var first error
	run(ctx, jobs, len(files), func(i int) error {
		f := &files[i]
		var err error
		if isCSS(f.key) {
			var data []byte
			if data, err = os.ReadFile(f.path); err == nil {
				mu.Lock()
				b.css = append(b.css, cssFile{f.key, data})
				mu.Unlock()
			}
		} else {
			_, _, err = f.digest(true, false)
		}
		if err != nil {
			mu.Lock()
			if first == nil {
				first = &Error{Op: "hash", Key: f.key, Err: err}
			}
			mu.Unlock()
		}
		return err
	})
	if first != nil {
		return nil, nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, &Error{Op: "hash", Err: err}
	}
	b.cssData = make(map[string][]byte, len(b.css))
	for _, c := range b.css {
		b.cssData[c.key] = c.data
	}

	out := make([]sourceFile, 0, 2*len(files)+1)
	out = append(out, files...)
	for _, f := range files {
		if isCSS(f.key) {
			continue
		}
		md, _, _ := f.digest(true, false)
		b.hashed[f.key] = hashedName(f.key, md)
		hashedCopy := f
		hashedCopy.key = b.hashed[f.key]
		out = append(out, hashedCopy)
	}
	for _, f := range files {
		if !isCSS(f.key) {
			continue
		}
		if _, err := b.resolveCSS(f.key); err != nil {
			return nil, nil, err
		}
		data := b.rewritten[f.key]
		out = append(out, sourceFile{key: b.hashed[f.key], data: data,
			size: int64(len(data)), sum: &digests{}})
	}

	m := &Manifest{Paths: b.hashed, Version: "1.1"}
	paths, err := json.Marshal(m.Paths)
	if err != nil {
		return nil, nil, err
	}
	sum := md5.Sum(paths)
	m.Hash = hex.EncodeToString(sum[:])[:hashLength]
	data, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	out = append(out, sourceFile{key: ManifestName, data: data, size: int64(len(data)),
		sum: &digests{}})

	// The files come first: they win over a copy or a manifest of the same key.
	seen := make(map[string]bool, len(out))
	kept := out[:0]
	for _, f := range out {
		if !seen[f.key] {
			seen[f.key] = true
			kept = append(kept, f)
		}
	}
	return kept, m, nil
}

// cssFile is a stylesheet's content as read.
type cssFile struct {
	key  string
	data []byte
}

// manifestBuilder names the hashed copies.
type manifestBuilder struct {
	byKey     map[string]*sourceFile
	css       []cssFile
	cssData   map[string][]byte
	hashed    map[string]string // original key → hashed key
	rewritten map[string][]byte // stylesheet key → content with hashed references
	state     map[string]int    // stylesheet key → 1 while rewritten, 2 when done
}

// resolveCSS rewrites the stylesheet under key, after the stylesheets it refers to,
// and names its hashed copy after the rewritten content.
func (b *manifestBuilder) resolveCSS(key string) (string, error) {
	switch b.state[key] {
	case 1:
		return "", &Error{Op: "rewrite", Key: key,
			Err: fmt.Errorf("stylesheets refer to each other in a cycle")}
	case 2:
		return b.hashed[key], nil
	}
	b.state[key] = 1
	var failed error
	data := cssReference.ReplaceAllFunc(b.cssData[key], func(m []byte) []byte {
		if failed != nil {
			return m
		}
		sub := cssReference.FindSubmatchIndex(m)
		for _, g := range []int{2, 4, 5} {
			if sub[2*g] < 0 {
				continue
			}
			start, end := sub[2*g], sub[2*g+1]
			ref, err := b.rewriteReference(key, string(m[start:end]))
			if err != nil {
				failed = err
				return m
			}
			out := make([]byte, 0, len(m)+hashLength+1)
			out = append(out, m[:start]...)
			out = append(out, ref...)
			return append(out, m[end:]...)
		}
		return m
	})
	if failed != nil {
		return "", failed
	}
	if b.rewritten == nil {
		b.rewritten = map[string][]byte{}
	}
	b.rewritten[key] = data
	sum := md5.Sum(data)
	b.hashed[key] = hashedName(key, hex.EncodeToString(sum[:]))
	b.state[key] = 2
	return b.hashed[key], nil
}

// rewriteReference returns ref, a reference found in the stylesheet cssKey, with the
// hashed name of the file it names. A reference to no published file (an absolute
// URL, a data: URL, a fragment, a missing file) is left as it is.
func (b *manifestBuilder) rewriteReference(cssKey, ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "/") ||
		strings.HasPrefix(ref, "data:") || strings.Contains(ref, ":") {
		return ref, nil
	}
	p, suffix := ref, ""
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		p, suffix = ref[:i], ref[i:]
	}
	unescaped, err := url.PathUnescape(p)
	if err != nil || p == "" || strings.HasSuffix(p, "/") {
		return ref, nil
	}
	target := path.Join(path.Dir(cssKey), unescaped)
	if _, ok := b.byKey[target]; !ok || !storage.ValidKey(target) {
		return ref, nil
	}
	hashed := b.hashed[target]
	if isCSS(target) {
		if hashed, err = b.resolveCSS(target); err != nil {
			return "", err
		}
	}
	base := path.Base(hashed)
	if unescaped != p {
		base = url.PathEscape(base)
	}
	return p[:strings.LastIndexByte(p, '/')+1] + base + suffix, nil
}

func isCSS(key string) bool { return strings.EqualFold(path.Ext(key), ".css") }
