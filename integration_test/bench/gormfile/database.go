package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/storage"
)

// openDatabases opens SQLite in work, and PostgreSQL when TEST_POSTGRES_DSN is set, each
// through two *gorm.DB: one with the plugin, one without. The databases opened so far
// are returned even on failure, to be closed.
func openDatabases(ctx context.Context, b *bench, work string) ([]*dbEnv, error) {
	var dbs []*dbEnv
	// WAL with synchronous=NORMAL, as SQLite is set up for a server: a commit does not
	// wait for the disk, so the library's own costs are not hidden behind fsyncs.
	dsn := filepath.Join(work, "bench.db") +
		"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_foreign_keys=1"
	d, err := openEnv(b, "sqlite", sqlite.Open(dsn), sqlite.Open(dsn), func() {})
	if err != nil {
		return dbs, fmt.Errorf("sqlite: %w", err)
	}
	dbs = append(dbs, d)

	if pg := os.Getenv("TEST_POSTGRES_DSN"); pg != "" {
		d, err := openPostgres(ctx, b, pg)
		if err != nil {
			return dbs, fmt.Errorf("postgres: %w", err)
		}
		dbs = append(dbs, d)
	}
	return dbs, nil
}

// openPostgres works in a schema of its own, dropped when the env is closed.
func openPostgres(ctx context.Context, b *bench, dsn string) (*dbEnv, error) {
	admin, err := gorm.Open(postgres.Open(dsn), quiet())
	if err != nil {
		return nil, err
	}
	closeAdmin := func() {
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "bench_" + hex.EncodeToString(rnd[:])
	if err := admin.WithContext(ctx).Exec("CREATE SCHEMA " + schema).Error; err != nil {
		closeAdmin()
		return nil, err
	}
	drop := func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		closeAdmin()
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	full := dsn + sep + "search_path=" + schema
	d, err := openEnv(b, "postgres", postgres.Open(full), postgres.Open(full), drop)
	if err != nil {
		drop()
		return nil, err
	}
	return d, nil
}

func quiet() *gorm.Config {
	return &gorm.Config{Logger: statements}
}

// statements counts the SQL statements GORM runs (not BEGIN and COMMIT), through either
// *gorm.DB and the plugin's own queries; it logs nothing.
var statements = &sqlCounter{Interface: logger.Default.LogMode(logger.Silent)}

type sqlCounter struct {
	logger.Interface
	n atomic.Int64
}

func (c *sqlCounter) LogMode(logger.LogLevel) logger.Interface { return c }

func (c *sqlCounter) Trace(context.Context, time.Time, func() (string, int64), error) {
	c.n.Add(1)
}

// openEnv opens the two *gorm.DB, registers the plugin on the first and creates the
// tables. closeFn runs after both are closed.
func openEnv(b *bench, name string, oursDial, plainDial gorm.Dialector,
	closeFn func()) (*dbEnv, error) {
	ours, err := gorm.Open(oursDial, quiet())
	if err != nil {
		return nil, err
	}
	plain, err := gorm.Open(plainDial, quiet())
	if err != nil {
		closeDB(ours)
		return nil, err
	}
	d := &dbEnv{name: name, ours: ours, plain: plain, close: func() {
		closeDB(ours)
		closeDB(plain)
		closeFn()
	}}
	plugin := gormfile.New(b.store, &gormfile.Options{Storages: map[string]storage.Storage{
		"public": b.public,
		"signed": b.signed,
	}})
	if err := ours.Use(plugin); err != nil {
		d.close()
		return nil, err
	}
	if err := ours.AutoMigrate(&bigRow{}, &smallRow{}, &loadRow{}, &delRow{}); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}
