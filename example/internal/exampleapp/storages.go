package exampleapp

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/gormfile/gormfile/storage"
	// The backends the examples offer register themselves with package storage.
	_ "github.com/gormfile/gormfile/storage/fsstore"
	_ "github.com/gormfile/gormfile/storage/s3store"
)

// OpenStorage opens the storage STORAGE_BACKEND and STORAGE_CONFIG describe. Opening
// sends no request to an S3 server: a wrong endpoint, wrong credentials or a missing
// bucket show on the first object written or read.
func (c *Config) OpenStorage(ctx context.Context) (storage.Storage, error) {
	// The backends' errors name the backend ("fsstore: …", "s3store: …") already.
	return storage.Open(ctx, c.Backend, c.Storage)
}

// Placement says where a second storage keeps its objects, for each kind of backend.
type Placement struct {
	// Dir names the second storage's directory on the filesystem, put beside
	// MEDIA_ROOT, and the last segment of its MEDIA_URL, put beside the first one's.
	Dir string
	// S3 holds the settings that replace those of STORAGE_CONFIG on S3, such as
	// AWS_STORAGE_BUCKET_NAME and AWS_LOCATION.
	S3 map[string]any
}

// OpenSecondStorage opens another storage of the same backend, with the same settings
// but its own place for objects, as a Django model field given its own storage class:
//
//   - on the filesystem, the root is MEDIA_ROOT/../Dir (./data/Dir by default) and
//     URLs start with Dir beside MEDIA_URL ("/media/" gives "/Dir/");
//   - on S3 (any other backend), the settings in p.S3 replace those of STORAGE_CONFIG.
func (c *Config) OpenSecondStorage(ctx context.Context, p Placement) (storage.Storage, error) {
	cfg := c.Storage.With(p.S3)
	if c.filesystem() {
		var err error
		if cfg, err = c.besideRoot(p.Dir); err != nil {
			return nil, fmt.Errorf("second storage %s: %w", p.Dir, err)
		}
	}
	s, err := storage.Open(ctx, c.Backend, cfg)
	if err != nil {
		return nil, fmt.Errorf("second storage %s: %w", p.Dir, err)
	}
	return s, nil
}

// besideRoot returns the filesystem settings with MEDIA_ROOT and MEDIA_URL moved to dir
// beside them.
func (c *Config) besideRoot(dir string) (storage.Config, error) {
	if dir == "" || dir == "." || dir == ".." || strings.ContainsAny(dir, `/\`) {
		return nil, fmt.Errorf("%q is not a directory name", dir)
	}
	root, err := c.Storage.String("MEDIA_ROOT", "")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(root) == "" {
		return nil, fmt.Errorf("MEDIA_ROOT is required: the directory that holds the files")
	}
	base, err := c.Storage.String("MEDIA_URL", "/media/")
	if err != nil {
		return nil, err
	}
	u, err := besideURL(base, dir)
	if err != nil {
		return nil, fmt.Errorf("MEDIA_URL: %w", err)
	}
	return c.Storage.With(map[string]any{
		"MEDIA_ROOT": filepath.Join(filepath.Dir(filepath.Clean(root)), dir),
		"MEDIA_URL":  u,
	}), nil
}

// besideURL replaces the last segment of the path of base with dir: "/media/" gives
// "/dir/", "https://cdn.example.com/media/" gives "https://cdn.example.com/dir/".
func besideURL(base, dir string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	p := path.Join(path.Dir(strings.TrimSuffix(u.Path, "/")), dir) + "/"
	if (u.Host != "" || strings.HasPrefix(u.Path, "/")) && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// CloseStorage releases what the storage holds open, for backends that hold anything.
func CloseStorage(s storage.Storage) error {
	if c, ok := s.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
