// Package exampleapp is what the example commands share: their configuration, read
// from the environment, the database and storages it opens, and the way they parse
// arguments, print rows and report errors.
//
// # Environment
//
//   - DATABASE_URL: postgres://… or postgresql://… selects PostgreSQL; sqlite:PATH,
//     file:PATH (an SQLite URI) or a plain path selects SQLite. Default: the SQLite
//     file ./data/APP.db, APP being the example's name; ./data is created.
//   - STORAGE_BACKEND: "filesystem" (the default), "s3", or a django-storages class
//     path that one of them registers ("storages.backends.s3boto3.S3Boto3Storage").
//   - STORAGE_CONFIG: the backend's settings as a JSON object, under django-storages'
//     names (MEDIA_ROOT, MEDIA_URL; AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, …).
//     Default for the filesystem: {"MEDIA_ROOT":"./data/media"}, with MEDIA_URL
//     "/media/". S3 has no default: its bucket must be named.
//
// Relative paths are taken from the working directory.
//
// # Output
//
// Commands print one JSON object per row on stdout and nothing else there. Errors are
// one line on stderr, "APP: COMMAND: cause", with exit status 1; a wrong command line
// prints the usage with exit status 2.
package exampleapp

import (
	"fmt"
	"os"
	"strings"

	"github.com/gormfile/gormfile/storage"
)

// DataDir is the directory, relative to the working directory, that holds the default
// SQLite database and the default filesystem storage.
const DataDir = "data"

// DefaultBackend is the storage backend used when STORAGE_BACKEND is unset.
const DefaultBackend = "filesystem"

// Config is an example's configuration.
type Config struct {
	// App is the example's name, which names its default database file.
	App string
	// DatabaseURL is DATABASE_URL, empty for the default SQLite file.
	DatabaseURL string
	// Backend is the registered name of the storage backend.
	Backend string
	// Storage holds the backend's settings.
	Storage storage.Config
}

// Load reads the configuration of the example app from the environment.
func Load(app string) (*Config, error) {
	c := &Config{
		App:         app,
		DatabaseURL: strings.TrimSpace(os.Getenv("DATABASE_URL")),
		Backend:     strings.TrimSpace(os.Getenv("STORAGE_BACKEND")),
	}
	if c.Backend == "" {
		c.Backend = DefaultBackend
	}

	raw := os.Getenv("STORAGE_CONFIG")
	cfg, err := storage.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("STORAGE_CONFIG: %w", err)
	}
	if cfg == nil {
		cfg = storage.Config{} // STORAGE_CONFIG=null
	}
	if strings.TrimSpace(raw) == "" && c.filesystem() {
		cfg["MEDIA_ROOT"] = "./" + DataDir + "/media"
	}
	if c.filesystem() {
		if _, ok := cfg["MEDIA_URL"]; !ok {
			cfg["MEDIA_URL"] = "/media/"
		}
	}
	c.Storage = cfg
	return c, nil
}

// filesystem reports whether the backend is the local filesystem, under its short name
// or one of Django's class paths for FileSystemStorage.
func (c *Config) filesystem() bool {
	return c.Backend == "filesystem" || strings.HasSuffix(c.Backend, ".FileSystemStorage")
}
