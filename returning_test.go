package gormfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage/memstore"
)

// The plugin learns the keys a hard delete removes from the DELETE itself where the
// database takes RETURNING, and checks and records the deletes it leaves in one
// statement; elsewhere it reads the keys first and checks, then records, apart. These
// tests run every delete shape both ways, on SQLite and (with TEST_POSTGRES_DSN) on
// PostgreSQL.

type retDoc struct {
	ID    uint
	Name  string
	File  field.File `gorm:"size:200" file:"upload_to:docs/"`
	Pages []retPage  `gorm:"foreignKey:DocID"`
}

type retPage struct {
	ID    uint
	DocID uint
	Scan  field.File `gorm:"size:200" file:"upload_to:pages/"`
}

type retEnv struct {
	db    *gorm.DB
	store *memstore.Storage
}

func retDatabases(t *testing.T) map[string]func(t *testing.T) *gorm.DB {
	dbs := map[string]func(t *testing.T) *gorm.DB{
		"sqlite": func(t *testing.T) *gorm.DB {
			dsn := filepath.Join(t.TempDir(), "t.db") + "?_foreign_keys=1"
			db, err := gorm.Open(sqlite.Open(dsn), quietConfig())
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
	if dsn := os.Getenv("TEST_POSTGRES_DSN"); dsn != "" {
		dbs["postgres"] = func(t *testing.T) *gorm.DB { return postgresSchema(t, dsn) }
	}
	return dbs
}

func quietConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

// postgresSchema opens dsn in a schema of its own, dropped when t ends.
func postgresSchema(t *testing.T, dsn string) *gorm.DB {
	admin, err := gorm.Open(postgres.Open(dsn), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "ret_" + hex.EncodeToString(rnd[:])
	if err := admin.Exec("CREATE SCHEMA " + name).Error; err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := gorm.Open(postgres.Open(dsn+sep+"search_path="+name), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		admin.Exec("DROP SCHEMA " + name + " CASCADE")
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// eachWay runs f on every database, with RETURNING and without.
func eachWay(t *testing.T, f func(t *testing.T, e *retEnv)) {
	for name, open := range retDatabases(t) {
		for _, returning := range []bool{true, false} {
			way := "returning"
			if !returning {
				way = "read-first"
			}
			t.Run(name+"/"+way, func(t *testing.T) {
				db := open(t)
				store := memstore.New(nil)
				p := New(store, nil)
				if err := db.Use(p); err != nil {
					t.Fatal(err)
				}
				if !p.returning {
					t.Fatalf("%s: the plugin does not use RETURNING", name)
				}
				p.returning = returning
				if err := db.AutoMigrate(&retDoc{}, &retPage{}); err != nil {
					t.Fatal(err)
				}
				f(t, &retEnv{db: db, store: store})
			})
		}
	}
}

func (e *retEnv) doc(t *testing.T, name string, pages ...string) retDoc {
	t.Helper()
	d := retDoc{Name: name, File: field.NewFile(strings.NewReader(name), name+".txt")}
	for _, p := range pages {
		d.Pages = append(d.Pages, retPage{Scan: field.NewFile(strings.NewReader(p), p+".png")})
	}
	if err := e.db.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *retEnv) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := e.store.Stat(context.Background(), key)
	return err == nil
}

// pending is the number of recorded deletes not yet forgotten, after a flush.
func (e *retEnv) pending(t *testing.T) int64 {
	t.Helper()
	if err := PluginOf(e.db).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := e.db.Model(&PendingDelete{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteByModel(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a, b := e.doc(t, "a"), e.doc(t, "b")
		if err := e.db.Delete(&a).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(t, a.File.Key()) || !e.exists(t, b.File.Key()) {
			t.Errorf("after deleting a: a's object there %v, b's %v (want false, true)",
				e.exists(t, a.File.Key()), e.exists(t, b.File.Key()))
		}
		if n := e.pending(t); n != 0 {
			t.Errorf("%d pending deletes left, want 0", n)
		}
	})
}

func TestDeleteSharedKey(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a, b, c := e.doc(t, "a"), e.doc(t, "b"), e.doc(t, "c")
		// b and c come to name a's object, outside the plugin.
		if err := e.db.Exec("UPDATE ret_docs SET file = ? WHERE id IN ?", a.File.Key(),
			[]uint{b.ID, c.ID}).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.db.Delete(&a).Error; err != nil {
			t.Fatal(err)
		}
		if !e.exists(t, a.File.Key()) {
			t.Fatal("deleting a removed the object b and c still name")
		}
		// b and c go in one statement: the object goes once, with no error.
		res := e.db.Where("id IN ?", []uint{b.ID, c.ID}).Delete(&retDoc{})
		if res.Error != nil || res.RowsAffected != 2 {
			t.Fatalf("delete b and c: %d rows, %v", res.RowsAffected, res.Error)
		}
		if e.exists(t, a.File.Key()) {
			t.Error("the object is still there after its last rows went")
		}
		if n := e.pending(t); n != 0 {
			t.Errorf("%d pending deletes left, want 0", n)
		}
	})
}

func TestDeleteFailsKeepsObject(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a := e.doc(t, "a", "p1")
		// The page's foreign key refuses the delete of its document.
		if err := e.db.Delete(&a).Error; err == nil {
			t.Fatal("deleting a document that has pages succeeded")
		}
		if !e.exists(t, a.File.Key()) || !e.exists(t, a.Pages[0].Scan.Key()) {
			t.Error("a failed delete removed objects")
		}
		if n := e.pending(t); n != 0 {
			t.Errorf("%d pending deletes left by a failed delete, want 0", n)
		}
		// The statement's connection is the plugin's again: a transaction still settles
		// its objects on commit.
		err := e.db.Transaction(func(tx *gorm.DB) error {
			return tx.Select("Pages").Delete(&a).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		if e.exists(t, a.File.Key()) || e.exists(t, a.Pages[0].Scan.Key()) {
			t.Error("deleting a with its pages left objects")
		}
	})
}

func TestDeleteWithAssociations(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a := e.doc(t, "a", "p1", "p2")
		b := e.doc(t, "b", "p3")
		if err := e.db.Select(clause.Associations).Delete(&a).Error; err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{a.File.Key(), a.Pages[0].Scan.Key(), a.Pages[1].Scan.Key()} {
			if e.exists(t, k) {
				t.Errorf("%s is still there", k)
			}
		}
		if !e.exists(t, b.File.Key()) || !e.exists(t, b.Pages[0].Scan.Key()) {
			t.Error("b's objects went with a's")
		}
		if n := e.pending(t); n != 0 {
			t.Errorf("%d pending deletes left, want 0", n)
		}
	})
}

func TestDeleteAsksReturning(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a := e.doc(t, "a")
		var gone []retDoc
		err := e.db.Model(&gone).Clauses(clause.Returning{}).
			Where("id = ?", a.ID).Delete(&gone).Error
		if err != nil {
			t.Fatal(err)
		}
		if len(gone) != 1 || gone[0].File.Key() != a.File.Key() {
			t.Errorf("RETURNING gave %+v, want the row of a", gone)
		}
		if e.exists(t, a.File.Key()) {
			t.Error("the object of a row deleted with RETURNING is still there")
		}
	})
}

func TestDeleteDryRun(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a := e.doc(t, "a")
		res := e.db.Session(&gorm.Session{DryRun: true}).Delete(&a)
		sql := res.Statement.SQL.String()
		if res.Error != nil || !strings.HasPrefix(sql, "DELETE") {
			t.Errorf("dry run built %q, %v", sql, res.Error)
		}
		if !e.exists(t, a.File.Key()) {
			t.Error("a dry run removed the object")
		}
		if err := e.db.Delete(&a).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(t, a.File.Key()) {
			t.Error("the object is still there after the delete")
		}
	})
}

func TestReplaceSharedKey(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		a, b := e.doc(t, "a"), e.doc(t, "b")
		if err := e.db.Exec("UPDATE ret_docs SET file = ? WHERE id = ?", a.File.Key(),
			b.ID).Error; err != nil {
			t.Fatal(err)
		}
		old := a.File.Key()
		a.File = field.NewFile(strings.NewReader("a2"), "a2.txt")
		if err := e.db.Save(&a).Error; err != nil {
			t.Fatal(err)
		}
		if !e.exists(t, old) {
			t.Fatal("replacing a's file removed the object b still names")
		}
		b.File = field.NewFile(strings.NewReader("b2"), "b2.txt")
		if err := e.db.Save(&b).Error; err != nil {
			t.Fatal(err)
		}
		if e.exists(t, old) {
			t.Error("the old object is still there after no row names it")
		}
		if n := e.pending(t); n != 0 {
			t.Errorf("%d pending deletes left, want 0", n)
		}
	})
}

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{{"3.45.1", true}, {"3.35.0", true}, {"3.34.1", false}, {"4.0", true},
		{"2.99.9", false}, {"3", false}, {"x.y", false}} {
		if got := versionAtLeast(c.v, 3, 35); got != c.want {
			t.Errorf("versionAtLeast(%q, 3, 35) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestCreateDryRunUploadsNothing(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		d := retDoc{Name: "dry", File: field.NewFile(strings.NewReader("x"), "dry.txt")}
		res := e.db.Session(&gorm.Session{DryRun: true}).Create(&d)
		if res.Error != nil || !strings.HasPrefix(res.Statement.SQL.String(), "INSERT") {
			t.Fatalf("dry run built %q, %v", res.Statement.SQL.String(), res.Error)
		}
		if n := e.store.Len(); n != 0 {
			t.Errorf("a dry run left %d objects", n)
		}
	})
}

// TestDeleteOneConnection deletes through a pool of one connection, in the statement's
// own transaction and in the caller's: the plugin's statements must not wait for a
// second connection.
func TestDeleteOneConnection(t *testing.T) {
	eachWay(t, func(t *testing.T, e *retEnv) {
		sqlDB, err := e.db.DB()
		if err != nil {
			t.Fatal(err)
		}
		sqlDB.SetMaxOpenConns(1)
		docs := []retDoc{e.doc(t, "a"), e.doc(t, "b"), e.doc(t, "c"), e.doc(t, "d")}
		done := make(chan error, 1)
		go func() {
			for _, d := range docs[:2] {
				if err := e.db.Delete(&d).Error; err != nil {
					done <- err
					return
				}
			}
			done <- e.db.Transaction(func(tx *gorm.DB) error {
				for _, d := range docs[2:] {
					if err := tx.Delete(&d).Error; err != nil {
						return err
					}
				}
				return nil
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("deleting through one connection did not end in 30 s")
		}
		for _, d := range docs {
			if e.exists(t, d.File.Key()) {
				t.Errorf("%s is still there", d.File.Key())
			}
		}
	})
}
