package integration_test

import (
	"bytes"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile/field"
)

// The models of the consistency matrix, and how cases make, load and check their rows.

// Item is hard-deleted and has a unique name, so that an insert or update can violate
// a constraint after its upload.
type Item struct {
	ID   uint
	Name string     `gorm:"uniqueIndex;size:64"`
	File field.File `gorm:"size:200" file:"upload_to:items"`
}

// Note is soft-deleted.
type Note struct {
	ID        uint
	Name      string     `gorm:"size:64"`
	File      field.File `file:"upload_to:notes/%Y"`
	DeletedAt gorm.DeletedAt
}

// Folder has many attachments, each with a file.
type Folder struct {
	ID          uint
	Name        string `gorm:"size:64"`
	Attachments []Attachment
}

// Attachment belongs to a Folder.
type Attachment struct {
	ID       uint
	FolderID uint
	Name     string     `gorm:"uniqueIndex;size:64"`
	File     field.File `file:"upload_to:attachments"`
}

var (
	matrixModels = []any{&Item{}, &Note{}, &Folder{}, &Attachment{}}
	// fileModels are the models with file columns, as Check and Sweep take them.
	fileModels = []any{&Item{}, &Note{}, &Attachment{}}
	// fileColumns are their tables' file columns.
	fileColumns = []string{"items", "notes", "attachments"}
)

// mkItem inserts an item during setup.
func (c *mcase) mkItem(name, client string) *Item {
	c.t.Helper()
	it := &Item{Name: name}
	if client != "" {
		it.File = c.file(client)
	}
	if err := c.db.Create(it).Error; err != nil {
		c.t.Fatalf("setup: create item %s: %v", name, err)
	}
	return it
}

// item loads an item by name through db.
func item(db *gorm.DB, name string) (*Item, error) {
	var it Item
	if err := db.Where("name = ?", name).First(&it).Error; err != nil {
		return nil, fmt.Errorf("loading item %s: %w", name, err)
	}
	return &it, nil
}

// wantItem asserts that the item named name holds the file uploaded as client.
func (c *mcase) wantItem(name, client string) *Item {
	c.t.Helper()
	it, err := item(c.db, name)
	if err != nil {
		c.t.Error(err)
		return nil
	}
	c.wantFile(it.File.Key(), "items/"+client, client)
	return it
}

// wantNoItem asserts that no item is named name.
func (c *mcase) wantNoItem(name string) {
	c.t.Helper()
	var n int64
	c.db.Model(&Item{}).Where("name = ?", name).Count(&n)
	if n != 0 {
		c.t.Errorf("item %s is there", name)
	}
}

// wantFile asserts that key is want and names an object holding client's body.
func (c *mcase) wantFile(key, want, client string) {
	c.t.Helper()
	if key != want {
		c.t.Errorf("key %q, want %q", key, want)
		return
	}
	if !exists(c.t, c.store.inner, key) {
		c.t.Errorf("object %s is missing", key)
		return
	}
	if got := content(c.t, c.store.inner, key); !bytes.Equal(got, body(client)) {
		c.t.Errorf("object %s holds %d other bytes, want the body of %s", key, len(got), client)
	}
}

// loadItem returns a setup item, failing the case when it is not there.
func (c *mcase) loadItem(name string) *Item {
	c.t.Helper()
	it, err := item(c.db, name)
	if err != nil {
		c.t.Fatal(err)
	}
	return it
}

func (c *mcase) mkNote(name, client string) *Note {
	c.t.Helper()
	n := &Note{Name: name, File: c.file(client)}
	if err := c.db.Create(n).Error; err != nil {
		c.t.Fatalf("setup: create note %s: %v", name, err)
	}
	return n
}

func (c *mcase) mkFolder(name string, atts ...string) *Folder {
	c.t.Helper()
	fo := &Folder{Name: name}
	for _, a := range atts {
		fo.Attachments = append(fo.Attachments, Attachment{Name: a, File: c.file(a + ".bin")})
	}
	if err := c.db.Create(fo).Error; err != nil {
		c.t.Fatalf("setup: create folder %s: %v", name, err)
	}
	return fo
}

// wantNote asserts the note's row (soft-deleted or not) and its file.
func (c *mcase) wantNote(name string, deleted bool, client string) {
	c.t.Helper()
	var n Note
	if err := c.db.Unscoped().Where("name = ?", name).First(&n).Error; err != nil {
		c.t.Errorf("note %s: %v", name, err)
		return
	}
	if n.DeletedAt.Valid != deleted {
		c.t.Errorf("note %s: deleted %v, want %v", name, n.DeletedAt.Valid, deleted)
	}
	c.wantFile(n.File.Key(), "notes/"+time.Now().Format("2006")+"/"+client, client)
}

// wantNoNote asserts that no note, soft-deleted or not, is named name.
func (c *mcase) wantNoNote(name string) {
	c.t.Helper()
	var n int64
	c.db.Unscoped().Model(&Note{}).Where("name = ?", name).Count(&n)
	if n != 0 {
		c.t.Errorf("note %s is there", name)
	}
}

// wantAttachments asserts the folder's attachments and their files.
func (c *mcase) wantAttachments(folder string, names ...string) {
	c.t.Helper()
	var fo Folder
	if err := c.db.Preload("Attachments", func(db *gorm.DB) *gorm.DB {
		return db.Order("name")
	}).Where("name = ?", folder).First(&fo).Error; err != nil {
		c.t.Errorf("folder %s: %v", folder, err)
		return
	}
	if len(fo.Attachments) != len(names) {
		c.t.Errorf("folder %s has %d attachments, want %d", folder, len(fo.Attachments),
			len(names))
		return
	}
	for i, a := range fo.Attachments {
		c.wantFile(a.File.Key(), "attachments/"+names[i]+".bin", names[i]+".bin")
	}
}

func (c *mcase) wantNoFolder(name string) {
	c.t.Helper()
	var n int64
	c.db.Model(&Folder{}).Where("name = ?", name).Count(&n)
	var m int64
	c.db.Model(&Attachment{}).Count(&m)
	if n != 0 || m != 0 {
		c.t.Errorf("folder %s: %d rows, %d attachments left", name, n, m)
	}
}

func loadFolder(db *gorm.DB, name string) (*Folder, error) {
	var fo Folder
	err := db.Preload("Attachments", func(db *gorm.DB) *gorm.DB { return db.Order("name") }).
		Where("name = ?", name).First(&fo).Error
	if err != nil {
		return nil, fmt.Errorf("loading folder %s: %w", name, err)
	}
	return &fo, nil
}
