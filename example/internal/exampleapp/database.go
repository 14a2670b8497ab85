package exampleapp

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// scheme matches the scheme of a URL. A single letter is not taken for one, so that a
// Windows path such as C:\db.sqlite stays a path.
var scheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

// OpenDB opens the database DATABASE_URL names, with GORM's logger silenced so that
// stdout carries only the rows.
func (c *Config) OpenDB() (*gorm.DB, error) {
	dialector, err := c.dialector()
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

// dialector chooses the driver for DATABASE_URL. Error messages name the scheme only,
// never the whole URL, which may hold a password.
func (c *Config) dialector() (gorm.Dialector, error) {
	url := c.DatabaseURL
	switch {
	case url == "":
		if err := os.MkdirAll(DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		return sqlite.Open(filepath.Join(DataDir, c.App+".db")), nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(url), nil
	case strings.HasPrefix(url, "file:"):
		return sqlite.Open(url), nil // an SQLite URI, options and all
	case strings.HasPrefix(url, "sqlite:"):
		// sqlite:PATH, sqlite://PATH and sqlite:///ABSOLUTE/PATH all name PATH.
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("DATABASE_URL: sqlite: no file path")
		}
		return sqlite.Open(path), nil
	}
	if m := scheme.FindStringSubmatch(url); m != nil {
		return nil, fmt.Errorf("DATABASE_URL: unsupported database %q: use postgres://…, "+
			"postgresql://…, sqlite:PATH, file:PATH or a file path", m[1])
	}
	return sqlite.Open(url), nil
}
