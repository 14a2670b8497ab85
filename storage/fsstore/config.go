package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gormfile/gormfile/storage"
)

func init() {
	storage.Register(openConfig,
		"filesystem",
		"django.core.files.storage.FileSystemStorage",
		"django.core.files.storage.filesystem.FileSystemStorage",
	)
}

// configKeys are the settings the filesystem backend reads, as Django names them.
var configKeys = []string{
	"MEDIA_ROOT",
	"MEDIA_URL",
	"FILE_UPLOAD_PERMISSIONS",
	"FILE_UPLOAD_DIRECTORY_PERMISSIONS",
	"FILE_OVERWRITE",
}

func openConfig(_ context.Context, cfg storage.Config) (storage.Storage, error) {
	root, opts, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return New(root, opts)
}

// parseConfig reads the root directory and the options from Django-named settings.
func parseConfig(cfg storage.Config) (string, *Options, error) {
	var aws, unknown []string
	for k := range cfg {
		switch {
		case slices.Contains(configKeys, k):
		case strings.HasPrefix(k, "AWS_"):
			aws = append(aws, k)
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(aws)
	slices.Sort(unknown)
	if len(aws) > 0 {
		return "", nil, fmt.Errorf("fsstore: settings %s are for S3, but this is the "+
			"filesystem backend; choose the s3 backend to use them",
			strings.Join(aws, ", "))
	}
	if len(unknown) > 0 {
		return "", nil, fmt.Errorf("fsstore: unknown settings %s (the filesystem backend "+
			"reads %s)", strings.Join(unknown, ", "), strings.Join(configKeys, ", "))
	}

	root, err := cfg.String("MEDIA_ROOT", "")
	if err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(root) == "" {
		return "", nil, errors.New("fsstore: MEDIA_ROOT is required: " +
			"the directory that holds the files")
	}
	var o Options
	if o.BaseURL, err = cfg.String("MEDIA_URL", "/media/"); err != nil {
		return "", nil, err
	}
	if o.FileMode, err = configMode(cfg, "FILE_UPLOAD_PERMISSIONS", 0o644); err != nil {
		return "", nil, err
	}
	if o.DirMode, err = configMode(cfg, "FILE_UPLOAD_DIRECTORY_PERMISSIONS", 0o755); err != nil {
		return "", nil, err
	}
	if o.Overwrite, err = cfg.Bool("FILE_OVERWRITE", false); err != nil {
		return "", nil, err
	}
	return root, &o, nil
}

// configMode reads a permission setting: an octal string ("0640", "0o640", "640") or a
// number, which is taken at its value (Django's 0o640 exported as JSON is 416); a
// config built in Go may hold an int or an fs.FileMode.
func configMode(cfg storage.Config, key string, def fs.FileMode) (fs.FileMode, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return def, nil
	}
	var n uint64
	switch v := v.(type) {
	case string:
		s := strings.TrimSpace(v)
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
		var err error
		if n, err = strconv.ParseUint(s, 8, 32); err != nil {
			return 0, fmt.Errorf("storage config: %s: %q is not an octal mode such as \"0640\"",
				key, v)
		}
	case float64:
		if v < 0 || v != math.Trunc(v) || v > math.MaxUint32 {
			return 0, fmt.Errorf("storage config: %s: %v is not a mode", key, v)
		}
		n = uint64(v)
	case int:
		n = uint64(max(v, 0))
	case int64:
		n = uint64(max(v, 0))
	case fs.FileMode:
		n = uint64(v)
	default:
		return 0, fmt.Errorf("storage config: %s: want an octal string such as \"0640\", "+
			"have %T", key, v)
	}
	if n == 0 || n > 0o777 {
		return 0, fmt.Errorf("storage config: %s: %v is not a permission mode from 1 to "+
			"0777 (%d in decimal); write octal modes as strings, such as \"0640\"",
			key, v, 0o777)
	}
	return fs.FileMode(n), nil
}
