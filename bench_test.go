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

// BenchmarkFind loads 10,000 rows with two file columns on SQLite, through the plugin,
// and the same rows as plain strings through plain GORM.
func BenchmarkFind(b *testing.B) {
	type row struct {
		ID    uint
		Name  string
		Doc   field.File `gorm:"index" file:"upload_to:docs/"`
		Photo field.File `gorm:"index" file:"upload_to:photos/"`
	}
	type plain struct {
		ID    uint
		Name  string
		Doc   string `gorm:"index"`
		Photo string `gorm:"index"`
	}
	dsn := filepath.Join(b.TempDir(), "b.db") + "?_journal_mode=WAL&_synchronous=NORMAL"
	db, err := gorm.Open(sqlite.Open(dsn), quietConfig())
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Table("rows").AutoMigrate(&plain{}); err != nil {
		b.Fatal(err)
	}
	seed := make([]plain, 10000)
	for i := range seed {
		seed[i] = plain{Name: "n", Doc: fmt.Sprintf("docs/%d.pdf", i),
			Photo: fmt.Sprintf("photos/%d.jpg", i)}
	}
	if err := db.Table("rows").CreateInBatches(seed, 500).Error; err != nil {
		b.Fatal(err)
	}
	withPlugin, err := gorm.Open(sqlite.Open(dsn), quietConfig())
	if err != nil {
		b.Fatal(err)
	}
	if err := withPlugin.Use(New(memstore.New(nil), nil)); err != nil {
		b.Fatal(err)
	}
	b.Run("plugin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rows []row
			if err := withPlugin.Table("rows").Find(&rows).Error; err != nil || len(rows) != 10000 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rows []plain
			if err := db.Table("rows").Find(&rows).Error; err != nil || len(rows) != 10000 {
				b.Fatal(len(rows), err)
			}
		}
	})
}
