package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gormfile/gormfile/storage"
)

func init() {
	storage.Register(openConfig, "memory")
}

// configKeys are the settings the memory backend reads.
var configKeys = []string{"MEDIA_URL", "FILE_OVERWRITE"}

func openConfig(_ context.Context, cfg storage.Config) (storage.Storage, error) {
	var unknown []string
	for k := range cfg {
		if !slices.Contains(configKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("memstore: unknown settings %s (the memory backend reads %s)",
			strings.Join(unknown, ", "), strings.Join(configKeys, ", "))
	}
	var o Options
	var err error
	if o.BaseURL, err = cfg.String("MEDIA_URL", "/media/"); err != nil {
		return nil, err
	}
	if o.Overwrite, err = cfg.Bool("FILE_OVERWRITE", false); err != nil {
		return nil, err
	}
	return New(&o), nil
}
