package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile/field"
)

// Blob is hard-deleted; Doc is soft-deleted; Panel has an image with its size columns.
type Blob struct {
	ID   uint
	Name string     `gorm:"uniqueIndex;size:64"`
	File field.File `gorm:"size:120" file:"upload_to:blobs"`
}

type Doc struct {
	ID        uint
	File      field.File `file:"upload_to:docs/%Y"`
	DeletedAt gorm.DeletedAt
}

type Panel struct {
	ID          uint
	Front       field.Image `file:"upload_to:devicetype-images;width_field:FrontWidth;height_field:FrontHeight"`
	FrontWidth  int
	FrontHeight int
}

func newBlob(name, client, body string) *Blob {
	return &Blob{Name: name, File: field.NewFile(strings.NewReader(body), client)}
}

func TestKeysForClientNames(t *testing.T) {
	raw, err := os.ReadFile("testdata/filenames.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Input     string  `json:"input"`
		ValidName *string `json:"valid_name"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	eachEnv(t, func(t *testing.T, e *env) {
		for i, c := range cases {
			b := newBlob(strings.Repeat("n", i+1), c.Input, "body "+c.Input)
			err := e.db.Create(b).Error
			if c.ValidName == nil {
				var ne *field.NameError
				if !errors.As(err, &ne) {
					t.Errorf("%q: err = %v, want *field.NameError", c.Input, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%q: %v", c.Input, err)
				continue
			}
			var got Blob
			e.db.First(&got, b.ID)
			if want := "blobs/" + *c.ValidName; got.File.Key() != want {
				t.Errorf("%q: key %q, want %q", c.Input, got.File.Key(), want)
			}
			if string(content(t, e.store, got.File.Key())) != "body "+c.Input {
				t.Errorf("%q: object content differs", c.Input)
			}
		}
		var n int64
		e.db.Model(&Blob{}).Count(&n)
		if keys := objects(t, e.store); len(keys) != int(n) {
			t.Errorf("%d rows but %d objects: %v", n, len(keys), keys)
		}
	}, &Blob{})
}

func TestSameNameTwice(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		a, b := newBlob("a", "report.bin", "first"), newBlob("b", "report.bin", "second")
		if err := e.db.Create(a).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.db.Create(b).Error; err != nil {
			t.Fatal(err)
		}
		if a.File.Key() != "blobs/report.bin" {
			t.Errorf("first key %q", a.File.Key())
		}
		if !regexp.MustCompile(`^blobs/report_[A-Za-z0-9]{7}\.bin$`).MatchString(b.File.Key()) {
			t.Errorf("second key %q", b.File.Key())
		}
		if got := string(content(t, e.store, a.File.Key())); got != "first" {
			t.Errorf("first object holds %q", got)
		}
		if got := string(content(t, e.store, b.File.Key())); got != "second" {
			t.Errorf("second object holds %q", got)
		}
	}, &Blob{})
}

func TestLongNameFitsColumn(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		long := strings.Repeat("x", 300) + ".tar.gz"
		for _, name := range []string{"a", "b"} {
			b := newBlob(name, long, name)
			if err := e.db.Create(b).Error; err != nil {
				t.Fatal(err)
			}
			if k := b.File.Key(); len(k) > 120 || !strings.HasSuffix(k, ".tar.gz") {
				t.Errorf("key %q (%d bytes)", k, len(k))
			}
		}
		var rows []Blob
		e.db.Find(&rows)
		if len(rows) != 2 || rows[0].File.Key() == rows[1].File.Key() {
			t.Errorf("rows %v", rows)
		}
	}, &Blob{})
}

func TestFailingStatementLeavesNoObject(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		if err := e.db.Create(newBlob("dup", "one.bin", "1")).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.db.Create(newBlob("dup", "two.bin", "2")).Error; err == nil {
			t.Fatal("duplicate name inserted")
		}
		if keys := objects(t, e.store); !slices.Equal(keys, []string{"blobs/one.bin"}) {
			t.Errorf("objects %v, want only blobs/one.bin", keys)
		}
	}, &Blob{})
}

func TestRollbackRemovesUploadsKeepsOld(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		old := newBlob("keep", "old.bin", "old")
		if err := e.db.Create(old).Error; err != nil {
			t.Fatal(err)
		}
		errStop := errors.New("stop")
		err := e.db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(newBlob("new", "new.bin", "new")).Error; err != nil {
				return err
			}
			var row Blob
			tx.First(&row, old.ID)
			row.File = field.NewFile(strings.NewReader("replacement"), "repl.bin")
			if err := tx.Save(&row).Error; err != nil {
				return err
			}
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatal(err)
		}
		if keys := objects(t, e.store); !slices.Equal(keys, []string{"blobs/old.bin"}) {
			t.Errorf("objects %v, want only blobs/old.bin", keys)
		}
		var row Blob
		e.db.First(&row, old.ID)
		if row.File.Key() != "blobs/old.bin" {
			t.Errorf("row key %q", row.File.Key())
		}

		// Begin/Rollback by hand, too.
		tx := e.db.Begin()
		if err := tx.Create(newBlob("manual", "manual.bin", "m")).Error; err != nil {
			t.Fatal(err)
		}
		if !exists(t, e.store, "blobs/manual.bin") {
			t.Error("upload not there inside the transaction")
		}
		tx.Rollback()
		if exists(t, e.store, "blobs/manual.bin") {
			t.Error("upload left after rollback")
		}
	}, &Blob{})
}

func TestReplaceAndClearDeleteAfterCommit(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newBlob("r", "v1.bin", "v1")
		if err := e.db.Create(b).Error; err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		tx := e.db.Begin()
		var row Blob
		tx.First(&row, b.ID)
		row.File = field.NewFile(strings.NewReader("v2"), "v2.bin")
		if err := tx.Save(&row).Error; err != nil {
			t.Fatal(err)
		}
		if !exists(t, e.store, "blobs/v1.bin") {
			t.Error("old object deleted before commit")
		}
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if exists(t, e.store, "blobs/v1.bin") {
			t.Error("old object still there after commit")
		}
		r, err := row.File.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := new(bytes.Buffer)
		got.ReadFrom(r)
		r.Close()
		if got.String() != "v2" {
			t.Errorf("new content %q", got)
		}

		// Updates with a struct replaces too, in GORM's own transaction.
		err = e.db.Model(&row).Updates(Blob{File: field.NewFile(strings.NewReader("v3"), "v3.bin")}).Error
		if err != nil {
			t.Fatal(err)
		}
		if exists(t, e.store, "blobs/v2.bin") || !exists(t, e.store, "blobs/v3.bin") {
			t.Errorf("after Updates: objects %v", objects(t, e.store))
		}

		// Clear.
		e.db.First(&row, b.ID)
		row.File.Clear()
		if err := e.db.Save(&row).Error; err != nil {
			t.Fatal(err)
		}
		if keys := objects(t, e.store); len(keys) != 0 {
			t.Errorf("after clear: objects %v", keys)
		}
		var raw string
		e.db.Raw("SELECT file FROM blobs WHERE id = ?", b.ID).Scan(&raw)
		if raw != "" {
			t.Errorf("cleared column holds %q", raw)
		}
	}, &Blob{})
}

func TestHardAndSoftDelete(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// Hard delete by value and by primary key.
		a, b := newBlob("a", "a.bin", "a"), newBlob("b", "b.bin", "b")
		e.db.Create(a)
		e.db.Create(b)
		if err := e.db.Delete(a).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.db.Delete(&Blob{}, b.ID).Error; err != nil {
			t.Fatal(err)
		}
		if keys := objects(t, e.store); len(keys) != 0 {
			t.Errorf("after hard deletes: objects %v", keys)
		}

		// Soft delete keeps the file; Unscoped delete removes it.
		d := &Doc{File: field.NewFile(strings.NewReader("doc"), "d.txt")}
		if err := e.db.Create(d).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.db.Delete(&Doc{}, d.ID).Error; err != nil {
			t.Fatal(err)
		}
		if !exists(t, e.store, d.File.Key()) {
			t.Error("soft delete removed the file")
		}
		if err := e.db.Unscoped().Delete(&Doc{}, d.ID).Error; err != nil {
			t.Fatal(err)
		}
		if exists(t, e.store, d.File.Key()) {
			t.Error("hard delete of the soft-deleted row kept the file")
		}

		// A rolled-back delete keeps the file.
		c := newBlob("c", "c.bin", "c")
		e.db.Create(c)
		e.db.Transaction(func(tx *gorm.DB) error {
			tx.Delete(c)
			return errors.New("undo")
		})
		if !exists(t, e.store, "blobs/c.bin") {
			t.Error("rolled-back delete removed the file")
		}
	}, &Blob{}, &Doc{})
}

func TestURLServesBytes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		body := []byte("served bytes \x00\xff")
		b := &Blob{Name: "u", File: field.NewFile(bytes.NewReader(body), "a b+c's #1.bin")}
		if err := e.db.Create(b).Error; err != nil {
			t.Fatal(err)
		}
		var row Blob
		e.db.First(&row, b.ID)
		url, err := row.File.URL(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := e.fetch(t, url); !bytes.Equal(got, body) {
			t.Errorf("GET %s = %q, want %q", url, got, body)
		}
		if n, err := row.File.Size(context.Background()); err != nil || n != int64(len(body)) {
			t.Errorf("Size = %d, %v", n, err)
		}
	}, &Blob{})
}

func TestImageColumns(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		f, err := os.Open("testdata/front-panel.png")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p := &Panel{Front: field.NewImage(f, "front.png")}
		if err := e.db.Create(p).Error; err != nil {
			t.Fatal(err)
		}
		var row Panel
		e.db.First(&row, p.ID)
		if row.FrontWidth == 0 || row.FrontHeight == 0 {
			t.Errorf("size columns %d×%d", row.FrontWidth, row.FrontHeight)
		}
		a, err := e.store.Stat(context.Background(), row.Front.Key())
		if err != nil || a.ContentType != "image/png" {
			t.Errorf("stat: %+v, %v", a, err)
		}

		for _, bad := range []string{"testdata/not-an-image.png", "testdata/svg-as.png"} {
			raw, _ := os.ReadFile(bad)
			err := e.db.Create(&Panel{Front: field.NewImage(bytes.NewReader(raw), "x.png")}).Error
			var ie *field.ImageError
			if !errors.As(err, &ie) {
				t.Errorf("%s: err = %v, want *field.ImageError", bad, err)
			}
		}
		var n int64
		e.db.Model(&Panel{}).Count(&n)
		if keys := objects(t, e.store); n != 1 || len(keys) != 1 {
			t.Errorf("%d rows, objects %v", n, keys)
		}

		// Clearing the image zeroes its size columns.
		row.Front.Clear()
		e.db.Save(&row)
		e.db.First(&row, p.ID)
		if row.FrontWidth != 0 || row.FrontHeight != 0 || row.Front.Key() != "" {
			t.Errorf("after clear: %+v", row)
		}
	}, &Panel{})
}

func TestImageSizeThroughUpdateMap(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		front, _ := os.ReadFile("testdata/front-panel.png")
		gif, _ := os.ReadFile("testdata/small.gif")
		p := &Panel{Front: field.NewImage(bytes.NewReader(front), "front.png")}
		if err := e.db.Create(p).Error; err != nil {
			t.Fatal(err)
		}
		err := e.db.Model(p).Update("front", field.NewImage(bytes.NewReader(gif), "small.gif")).Error
		if err != nil {
			t.Fatal(err)
		}
		var row Panel
		e.db.First(&row, p.ID)
		if row.Front.Key() != "devicetype-images/small.gif" || row.FrontWidth != 300 ||
			row.FrontHeight != 55 {
			t.Errorf("after Update: %q %d×%d, want small.gif 300×55", row.Front.Key(),
				row.FrontWidth, row.FrontHeight)
		}
		err = e.db.Model(p).Updates(map[string]any{"front": ""}).Error
		if err != nil {
			t.Fatal(err)
		}
		e.db.First(&row, p.ID)
		if row.Front.Key() != "" || row.FrontWidth != 0 || row.FrontHeight != 0 {
			t.Errorf("after clearing: %q %d×%d", row.Front.Key(), row.FrontWidth, row.FrontHeight)
		}
		if keys := objects(t, e.store); len(keys) != 0 {
			t.Errorf("objects left: %v", keys)
		}
	}, &Panel{})
}

// Changes of one row at once each delete the key the one before wrote: none is left
// unreferenced (PostgreSQL locks the row while its old key is read; SQLite runs one
// writer at a time).
func TestConcurrentReplaceOfOneRow(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		if e.db.Dialector.Name() == "sqlite" {
			sqlDB, _ := e.db.DB()
			sqlDB.SetMaxOpenConns(1)
		}
		b := newBlob("one", "v0.bin", "v0")
		if err := e.db.Create(b).Error; err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := field.NewFile(strings.NewReader("v"), "v.bin")
				errs <- e.db.Model(&Blob{ID: b.ID}).Updates(&Blob{File: f}).Error
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		var row Blob
		e.db.First(&row, b.ID)
		if keys := objects(t, e.store); len(keys) != 1 || keys[0] != row.File.Key() {
			t.Errorf("objects %v, row names %q", keys, row.File.Key())
		}
	}, &Blob{})
}
