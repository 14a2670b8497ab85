package gormfile

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage/memstore"
)

// Loading rows: File and Image columns are copied into the rows by the setter File gives
// their fields (field/gormscan.go), then bound to their storage.

type scanOwner struct {
	ID    uint
	Name  string
	Doc   field.File  `gorm:"index" file:"upload_to:docs/"`
	Photo field.Image `gorm:"index" file:"upload_to:photos/"`
}

type scanPet struct {
	ID      uint
	OwnerID *uint
	Owner   *scanOwner
	Tag     field.File `gorm:"index" file:"upload_to:tags/"`
}

func TestScanRows(t *testing.T) {
	ctx := context.Background()
	db, err := gorm.Open(sqlite.Open(t.TempDir()+"/s.db"), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(&memstore.Options{BaseURL: "https://media.example/"})
	if err := db.Use(New(store, nil)); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&scanOwner{}, &scanPet{}); err != nil {
		t.Fatal(err)
	}
	png := pngBytes(t)
	a := scanOwner{Name: "a", Doc: field.NewFile(strings.NewReader("d"), "d.txt"),
		Photo: field.NewImage(strings.NewReader(string(png)), "p.png")}
	b := scanOwner{Name: "b"} // every file column empty
	if err := db.Create(&a).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&b).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE scan_owners SET doc = NULL WHERE id = ?", b.ID).Error; err != nil {
		t.Fatal(err)
	}
	pets := []scanPet{{OwnerID: &a.ID, Tag: field.NewFile(strings.NewReader("t"), "t.txt")},
		{Tag: field.NewFile(strings.NewReader("u"), "u.txt")}}
	if err := db.Create(&pets).Error; err != nil {
		t.Fatal(err)
	}

	// Loaded twice into the same slice: the second load overwrites the first's values.
	var rows []scanOwner
	for range 2 {
		if err := db.Order("id").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	got := rows[0]
	if got.Doc.Key() != "docs/d.txt" || got.Photo.Key() != "photos/p.png" {
		t.Errorf("row a loaded as doc %q, photo %q", got.Doc.Key(), got.Photo.Key())
	}
	for _, f := range []field.File{got.Doc, got.Photo.File} {
		url, err := f.URL(ctx)
		if err != nil || url != "https://media.example/"+f.Key() {
			t.Errorf("URL of %q: %q, %v", f.Key(), url, err)
		}
	}
	if got.Doc.Pending() || got.Photo.Pending() {
		t.Error("a loaded value is pending")
	}
	empty := rows[1]
	if !empty.Doc.IsZero() || !empty.Photo.IsZero() {
		t.Errorf("row b loaded as doc %q (NULL), photo %q; want both empty",
			empty.Doc.Key(), empty.Photo.Key())
	}
	if _, err := empty.Doc.URL(ctx); err != field.ErrNoFile {
		t.Errorf("URL of an empty column: %v, want ErrNoFile", err)
	}

	// NULL empties a value loaded into a struct that held one.
	if err := db.Exec("UPDATE scan_owners SET doc = NULL, photo = NULL WHERE id = ?",
		a.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.First(&got, a.ID).Error; err != nil {
		t.Fatal(err)
	}
	if !got.Doc.IsZero() || !got.Photo.IsZero() {
		t.Errorf("NULL loaded over a value: doc %q, photo %q", got.Doc.Key(), got.Photo.Key())
	}

	// A joined relation: a pet without owner keeps a nil Owner.
	var loaded []scanPet
	if err := db.Joins("Owner").Order("scan_pets.id").Find(&loaded).Error; err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 2 || loaded[0].Owner == nil || loaded[1].Owner != nil {
		t.Fatalf("joined pets: %+v", loaded)
	}
	if k := loaded[0].Owner.Name; k != "a" {
		t.Errorf("joined owner %q, want a", k)
	}
	// Loaded through a join, the owner's files know their storage too.
	var withDoc scanPet
	c := scanOwner{Name: "c", Doc: field.NewFile(strings.NewReader("c"), "c.txt")}
	if err := db.Create(&c).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&scanPet{OwnerID: &c.ID}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Joins("Owner").Where("Owner.id = ?", c.ID).First(&withDoc).Error; err != nil {
		t.Fatal(err)
	}
	url, err := withDoc.Owner.Doc.URL(ctx)
	if err != nil || url != "https://media.example/docs/c.txt" {
		t.Errorf("URL of a joined owner's doc: %q, %v", url, err)
	}
	if k := loaded[1].Tag.Key(); k != "tags/u.txt" {
		t.Errorf("second pet's tag %q, want tags/u.txt", k)
	}
}

// pngBytes returns a small PNG image.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
