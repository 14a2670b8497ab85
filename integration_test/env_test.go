package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/integration_test/internal/s3server"
	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/fsstore"
	"github.com/gormfile/gormfile/storage/s3store"
)

// The tests run each case on every database (SQLite always, PostgreSQL when
// TEST_POSTGRES_DSN is set) and every storage (the filesystem, and S3 on the test
// server this package starts in TestMain).

var s3srv *s3server.Server

func TestMain(m *testing.M) {
	srv, stop, err := s3server.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration_test: starting the S3 server:", err)
		os.Exit(1)
	}
	s3srv = srv
	code := m.Run()
	stop()
	if binDir != "" {
		os.RemoveAll(binDir) // the example commands built by examples_test.go
	}
	os.Exit(code)
}

// env is one database and one storage, fresh for one test.
type env struct {
	db    *gorm.DB
	store storage.Storage
	// fetch GETs a URL the storage gave.
	fetch func(t *testing.T, url string) []byte
}

type combo struct {
	name  string
	newDB func(t *testing.T) *gorm.DB
	newSt func(t *testing.T) (storage.Storage, func(*testing.T, string) []byte)
}

func combos() []combo {
	dbs := []struct {
		name string
		open func(t *testing.T) *gorm.DB
	}{{"sqlite", openSQLite}}
	if os.Getenv("TEST_POSTGRES_DSN") != "" {
		dbs = append(dbs, struct {
			name string
			open func(t *testing.T) *gorm.DB
		}{"postgres", openPostgres})
	}
	stores := []struct {
		name string
		open func(t *testing.T) (storage.Storage, func(*testing.T, string) []byte)
	}{{"filesystem", newFilesystem}, {"s3", newS3}}
	var out []combo
	for _, d := range dbs {
		for _, s := range stores {
			out = append(out, combo{d.name + "/" + s.name, d.open, s.open})
		}
	}
	return out
}

// eachEnv runs fn once per database and storage, with the plugin registered and the
// models migrated.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env), models ...any) {
	for _, c := range combos() {
		t.Run(c.name, func(t *testing.T) {
			db := c.newDB(t)
			st, fetch := c.newSt(t)
			if err := db.Use(gormfile.New(st, nil)); err != nil {
				t.Fatal(err)
			}
			if err := db.AutoMigrate(models...); err != nil {
				t.Fatal(err)
			}
			fn(t, &env{db: db, store: st, fetch: fetch})
		})
	}
}

func quietConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

func openSQLite(t *testing.T) *gorm.DB {
	db, err := gorm.Open(sqlite.Open(t.TempDir()+"/test.db?_foreign_keys=1"), quietConfig())
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

// openPostgres gives each test its own schema, dropped at the end.
func openPostgres(t *testing.T) *gorm.DB {
	dsn := os.Getenv("TEST_POSTGRES_DSN")
	admin, err := gorm.Open(postgres.Open(dsn), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	schema := "t_" + randomHex(6)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := gorm.Open(postgres.Open(dsn+sep+"search_path="+schema), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func newFilesystem(t *testing.T) (storage.Storage, func(*testing.T, string) []byte) {
	root := t.TempDir()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	st, err := fsstore.New(root, &fsstore.Options{BaseURL: srv.URL + "/media/"})
	if err != nil {
		t.Fatal(err)
	}
	handler = http.StripPrefix("/media/", st.Handler())
	return st, httpGet
}

func newS3(t *testing.T) (storage.Storage, func(*testing.T, string) []byte) {
	bucket := "b-" + randomHex(6)
	s3srv.CreateBucket(t, bucket)
	cfg := s3srv.Config(bucket)
	cfg["AWS_LOCATION"] = "/media/"
	cfg["AWS_QUERYSTRING_AUTH"] = true
	st, err := s3store.NewFromConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st, httpGet
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// objects lists every key in the storage.
func objects(t *testing.T, st storage.Storage) []string {
	t.Helper()
	var keys []string
	err := st.List(context.Background(), "", func(a *storage.Attributes) error {
		keys = append(keys, a.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// content reads an object whole.
func content(t *testing.T, st storage.Storage, key string) []byte {
	t.Helper()
	r, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func exists(t *testing.T, st storage.Storage, key string) bool {
	t.Helper()
	ok, err := storage.Exists(context.Background(), st, key)
	if err != nil {
		t.Fatalf("exists %s: %v", key, err)
	}
	return ok
}
