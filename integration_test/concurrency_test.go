package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/field"
)

// Report is the model of the concurrency test: each row remembers which goroutine
// made it, so that its object's content can be checked.
type Report struct {
	ID   uint
	Seq  int        `gorm:"uniqueIndex"`
	File field.File `file:"upload_to:reports"`
}

// reportBody is the content goroutine seq uploads.
func reportBody(seq int) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "report %03d\n", seq), 100)
}

// openSQLiteConcurrent opens SQLite for many writers at once: writers wait for the
// lock instead of failing, so that the database is not what the test measures.
func openSQLiteConcurrent(t *testing.T) *gorm.DB {
	dsn := t.TempDir() + "/test.db?_foreign_keys=1&_busy_timeout=20000&_journal_mode=WAL"
	db, err := gorm.Open(sqlite.Open(dsn), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func TestConcurrentSameName(t *testing.T) {
	const n = 100
	keyRE := regexp.MustCompile(`^reports/report(_[A-Za-z0-9]{7})?\.bin$`)
	for _, cb := range combos() {
		t.Run(cb.name, func(t *testing.T) {
			var db *gorm.DB
			if cb.name == "sqlite/filesystem" || cb.name == "sqlite/s3" {
				db = openSQLiteConcurrent(t)
			} else {
				db = cb.newDB(t)
			}
			if sqlDB, err := db.DB(); err == nil {
				// PostgreSQL allows 100 connections; leave room for the others.
				sqlDB.SetMaxOpenConns(20)
			}
			st, _ := cb.newSt(t)
			if err := db.Use(gormfile.New(st, nil)); err != nil {
				t.Fatal(err)
			}
			if err := db.AutoMigrate(&Report{}); err != nil {
				t.Fatal(err)
			}

			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := &Report{Seq: i,
						File: field.NewFile(bytes.NewReader(reportBody(i)), "report.bin")}
					errs[i] = db.Create(r).Error
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("goroutine %d: %v", i, err)
				}
			}

			var rows []Report
			if err := db.Order("seq").Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != n {
				t.Fatalf("%d rows, want %d", len(rows), n)
			}
			keys := map[string]int{}
			for _, r := range rows {
				k := r.File.Key()
				if !keyRE.MatchString(k) {
					t.Errorf("seq %d: key %q", r.Seq, k)
				}
				if other, dup := keys[k]; dup {
					t.Errorf("seq %d and %d share key %q", other, r.Seq, k)
				}
				keys[k] = r.Seq
				if got := content(t, st, k); !bytes.Equal(got, reportBody(r.Seq)) {
					t.Errorf("seq %d: object %s holds %q…", r.Seq, k, got[:min(len(got), 12)])
				}
			}
			objs := objects(t, st)
			if len(objs) != n {
				t.Errorf("%d objects, want %d", len(objs), n)
			}
			res, err := gormfile.PluginOf(db).Check(context.Background(), db,
				[]any{&Report{}}, nil)
			if err != nil || res.Missing != 0 || res.Files != n {
				t.Errorf("check: %+v, %v", res, err)
			}
		})
	}
}
