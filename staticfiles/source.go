package staticfiles

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/gormfile/gormfile/storage"
)

// DefaultIgnore holds the patterns [Collect] ignores when [Options.Ignore] is nil, as
// Django's collectstatic does: dot-files and dot-directories, editor backups, CVS.
var DefaultIgnore = []string{".*", "*~", "CVS"}

// sourceFile is one object to publish: a local file, or content made by Collect (a
// rewritten stylesheet, the manifest).
type sourceFile struct {
	key  string // the key under which it is published
	path string // the local file, when data is nil
	data []byte // the content, when it is no file
	size int64
	// sum holds the content's digests, shared by the keys that publish one content.
	sum *digests
}

// open returns a stream of the content.
func (f sourceFile) open() (io.ReadCloser, error) {
	if f.data != nil {
		return io.NopCloser(bytes.NewReader(f.data)), nil
	}
	return os.Open(f.path)
}

// digest returns the hex MD5 and SHA-256 digests of the content that are asked for,
// reading the content once for those not known yet.
func (f sourceFile) digest(wantMD5, wantSHA256 bool) (md5Sum, sha256Sum string, err error) {
	d := f.sum
	d.mu.Lock()
	defer d.mu.Unlock()
	wantMD5 = wantMD5 && d.md5 == ""
	wantSHA256 = wantSHA256 && d.sha256 == ""
	if wantMD5 || wantSHA256 {
		var r io.ReadCloser
		if r, err = f.open(); err != nil {
			return "", "", err
		}
		defer r.Close()
		var hm, hs hash.Hash
		var w []io.Writer
		if wantMD5 {
			hm = md5.New()
			w = append(w, hm)
		}
		if wantSHA256 {
			hs = sha256.New()
			w = append(w, hs)
		}
		bp := hashBuffers.Get().(*[]byte)
		defer hashBuffers.Put(bp)
		if err := readAll(r, io.MultiWriter(w...), *bp); err != nil {
			return "", "", err
		}
		if hm != nil {
			d.md5 = hex.EncodeToString(hm.Sum(nil))
		}
		if hs != nil {
			d.sha256 = hex.EncodeToString(hs.Sum(nil))
		}
	}
	return d.md5, d.sha256, nil
}

// digests holds the hex digests of one content, each computed once.
type digests struct {
	mu          sync.Mutex
	md5, sha256 string
}

// hashBuffers holds the buffers files are read through to be digested: larger than
// io.Copy's, for fewer system calls.
var hashBuffers = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// readAll writes the content of r to w through buf.
func readAll(r io.Reader, w io.Writer, buf []byte) error {
	for {
		n, err := r.Read(buf)
		w.Write(buf[:n]) // hashes never fail
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// scan walks the sources and returns their files in key order per source, the first
// source winning when two hold the same key.
func scan(sources, ignore []string) ([]sourceFile, error) {
	for _, p := range ignore {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("staticfiles: ignore pattern %q: %w", p, err)
		}
	}
	var files []sourceFile
	seen := map[string]bool{}
	for _, src := range sources {
		fi, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("staticfiles: source: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("staticfiles: source %s: not a directory", src)
		}
		w := walker{ignore: ignore, seen: seen, files: files}
		if err := w.walk(src, "", []os.FileInfo{fi}); err != nil {
			return nil, err
		}
		files = w.files
	}
	return files, nil
}

// walker collects the files of one source.
type walker struct {
	ignore []string
	seen   map[string]bool
	files  []sourceFile
}

// ignored reports whether the entry named rel (relative to its source) matches one of
// the patterns, by its base name or by its whole relative path.
func (w *walker) ignored(rel string) bool {
	base := path.Base(rel)
	for _, p := range w.ignore {
		if ok, _ := path.Match(p, base); ok {
			return true
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
	}
	return false
}

// walk adds the files under dir, whose key prefix is rel ("" at the source's top).
// Links are followed; stack holds the directories being walked, to stop link loops.
func (w *walker) walk(dir, rel string, stack []os.FileInfo) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("staticfiles: source: %w", err)
	}
	for _, d := range entries {
		key := d.Name()
		if rel != "" {
			key = rel + "/" + key
		}
		if w.ignored(key) {
			continue
		}
		name := filepath.Join(dir, d.Name())
		var fi fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(name)
		} else {
			fi, err = d.Info()
		}
		if err != nil {
			return fmt.Errorf("staticfiles: source: %w", err)
		}
		switch {
		case fi.IsDir():
			if looped(stack, fi) {
				return fmt.Errorf("staticfiles: source %s: link loop", name)
			}
			if err := w.walk(name, key, append(stack, fi)); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if !storage.ValidKey(key) {
				return fmt.Errorf("staticfiles: source %s: %q: %w", name, key,
					storage.ErrInvalidKey)
			}
			if w.seen[key] {
				continue
			}
			w.seen[key] = true
			w.files = append(w.files, sourceFile{key: key, path: name, size: fi.Size(),
				sum: &digests{}})
		}
	}
	return nil
}

// looped reports whether fi is one of the directories being walked.
func looped(stack []os.FileInfo, fi os.FileInfo) bool {
	for _, s := range stack {
		if os.SameFile(s, fi) {
			return true
		}
	}
	return false
}
