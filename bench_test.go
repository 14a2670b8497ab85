package gormfile

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage/memstore"
)

// BenchmarkDelete deletes rows one by one on SQLite, through the plugin (objects in
// memory) and through plain GORM on the same table, so that the plugin's own cost per
// delete shows: the keys returned by the DELETE, the shared-key check and the record
// of the object delete. The S3 comparison is integration_test/bench/gormfile.
func BenchmarkDelete(b *testing.B) {
	type row struct {
		ID   uint
		File field.File `gorm:"index" file:"upload_to:d/"`
	}
	type plain struct {
		ID   uint
		File string `gorm:"index"`
	}
	for _, withPlugin := range []bool{true, false} {
		name := "plain"
		if withPlugin {
			name = "plugin"
		}
		b.Run(name, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "b.db") + "?_journal_mode=WAL&_synchronous=NORMAL"
			db, err := gorm.Open(sqlite.Open(dsn), quietConfig())
			if err != nil {
				b.Fatal(err)
			}
			if withPlugin {
				if err := db.Use(New(memstore.New(nil), nil)); err != nil {
					b.Fatal(err)
				}
			}
			tbl := db.Table("rows")
			if err := tbl.AutoMigrate(&row{}); err != nil {
				b.Fatal(err)
			}
			ids := make([]uint, b.N)
			for i := range ids {
				var err error
				if withPlugin {
					r := row{File: field.NewFile(strings.NewReader("x"), "x.txt")}
					err = db.Table("rows").Create(&r).Error
					ids[i] = r.ID
				} else {
					r := plain{File: fmt.Sprint("d/x", i)}
					err = db.Table("rows").Create(&r).Error
					ids[i] = r.ID
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, id := range ids {
				var err error
				if withPlugin {
					err = db.Table("rows").Delete(&row{ID: id}).Error
				} else {
					err = db.Table("rows").Delete(&plain{ID: id}).Error
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
