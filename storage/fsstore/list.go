package fsstore

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/gormfile/gormfile/storage"
)

// List calls fn for each object whose key starts with prefix, in key order. The prefix
// may end inside a name ("photos/2024-") or with a slash. Directories, temporary files,
// and links that lead to no regular file inside the root are not objects.
func (s *Storage) List(ctx context.Context, prefix string,
	fn func(*storage.Attributes) error) error {
	if prefix != "" && !storage.ValidKey(prefix+"x") {
		return &storage.Error{Backend: backend, Op: "list", Key: strconv.Quote(prefix),
			Err: storage.ErrInvalidKey}
	}
	dir, name := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, name = prefix[:i], prefix[i+1:]
	}
	w := walker{s: s, ctx: ctx, prefix: prefix, fn: fn}
	return w.walk(dir, name)
}

// walker walks directories depth first in key order.
type walker struct {
	s      *Storage
	ctx    context.Context
	prefix string
	fn     func(*storage.Attributes) error
}

// entry is a directory entry with the name it sorts by.
type entry struct {
	sortName string
	d        fs.DirEntry
}

// walk lists the objects under dir whose names start with namePrefix. Errors from fn
// come back as they are; others are wrapped.
func (w *walker) walk(dir, namePrefix string) error {
	if err := w.ctx.Err(); err != nil {
		return w.s.fail("list", w.prefix, err)
	}
	entries, err := w.readDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return w.s.fail("list", w.prefix, err)
	}

	var sorted []entry
	for _, d := range entries {
		name := d.Name()
		if !strings.HasPrefix(name, namePrefix) || strings.HasPrefix(name, tempPrefix) {
			continue
		}
		// A directory's keys all start with its name and a slash, so it sorts among
		// its siblings as that: "b.txt" < "b/c.txt" since '.' < '/'.
		sortName := name
		if d.IsDir() {
			sortName += "/"
		}
		sorted = append(sorted, entry{sortName, d})
	}
	slices.SortFunc(sorted, func(a, b entry) int {
		return strings.Compare(a.sortName, b.sortName)
	})

	for _, e := range sorted {
		key := e.d.Name()
		if dir != "" {
			key = dir + "/" + key
		}
		if e.d.IsDir() {
			if err := w.walk(key, ""); err != nil {
				return err
			}
			continue
		}
		fi, ok, err := w.object(key, e.d)
		if err != nil {
			return w.s.fail("list", w.prefix, err)
		}
		if !ok {
			continue
		}
		if err := w.fn(attributes(key, fi)); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) readDir(dir string) ([]fs.DirEntry, error) {
	name := dir
	if name == "" {
		name = "."
	}
	f, err := w.s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// object returns the attributes of the entry when it is an object: a regular file, or
// a link to one inside the root. Entries removed since the directory was read are
// skipped.
func (w *walker) object(key string, d fs.DirEntry) (fs.FileInfo, bool, error) {
	var fi fs.FileInfo
	var err error
	switch {
	case d.Type().IsRegular():
		fi, err = d.Info()
	case d.Type()&fs.ModeSymlink != 0:
		fi, err = w.s.root.Stat(key)
		if err != nil && !isNotExist(err) {
			// A link that leads outside the root or into a loop is no object.
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	if isNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	return fi, fi.Mode().IsRegular(), nil
}
