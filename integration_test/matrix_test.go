package integration_test

import (
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The write paths of the consistency matrix. Every case starts with an item named
// "taken" (taken.bin), which a path's dup variant collides with, plus its own setup.

var errInner = errors.New("inner transaction rolls back")

func matrixPaths() []*mpath {
	return []*mpath{
		{
			name: "create", uploads: 1, stmts: 1,
			run: func(c *mcase, db *gorm.DB) error {
				return db.Create(&Item{Name: "a", File: c.file("a.bin")}).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return db.Create(&Item{Name: "taken", File: c.file("a.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("a", "a.bin") },
		},
		{
			name: "create-slice", uploads: 3, stmts: 1,
			run: func(c *mcase, db *gorm.DB) error {
				items := createItems(c, "a", "b", "c")
				return db.Create(&items).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				items := createItems(c, "a", "b", "taken")
				return db.Create(&items).Error
			},
			check: func(c *mcase) {
				for _, n := range []string{"a", "b", "c"} {
					c.wantItem(n, n+".bin")
				}
			},
		},
		{
			name: "create-map", uploads: 1, stmts: 1,
			run: func(c *mcase, db *gorm.DB) error {
				return db.Model(&Item{}).Create(map[string]any{"name": "a",
					"file": c.file("a.bin")}).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return db.Model(&Item{}).Create(map[string]any{"name": "taken",
					"file": c.file("a.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("a", "a.bin") },
		},
		{
			name: "create-in-batches", uploads: 5, stmts: 3,
			run: func(c *mcase, db *gorm.DB) error {
				items := createItems(c, "a", "b", "c", "d", "e")
				return db.CreateInBatches(&items, 2).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				items := createItems(c, "a", "b", "c", "d", "taken")
				return db.CreateInBatches(&items, 2).Error
			},
			check: func(c *mcase) {
				for _, n := range []string{"a", "b", "c", "d", "e"} {
					c.wantItem(n, n+".bin")
				}
			},
		},
		{
			name: "first-or-create", uploads: 1, stmts: 1,
			run: func(c *mcase, db *gorm.DB) error {
				var it Item
				return db.Attrs(Item{File: c.file("f.bin")}).FirstOrCreate(&it, Item{Name: "f"}).
					Error
			},
			check: func(c *mcase) { c.wantItem("f", "f.bin") },
		},
		{
			name: "first-or-create-assign", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("f", "f0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				var it Item
				return db.Assign(Item{File: c.file("f1.bin")}).FirstOrCreate(&it, Item{Name: "f"}).
					Error
			},
			check: func(c *mcase) { c.wantItem("f", "f1.bin") },
		},
		{
			name: "save-new", uploads: 1, stmts: 1,
			run: func(c *mcase, db *gorm.DB) error {
				return db.Save(&Item{Name: "s", File: c.file("s.bin")}).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return db.Save(&Item{Name: "taken", File: c.file("s.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("s", "s.bin") },
		},
		{
			// Save of a new row whose primary key is set: GORM tries an update, which
			// uploads and commits, then inserts. When the insert fails, nothing
			// removes the upload: it is left for the sweep.
			name: "save-new-with-id", uploads: 1, stmts: 2,
			leaks: []fault{fDBError, fDBConstraint},
			run: func(c *mcase, db *gorm.DB) error {
				return db.Save(&Item{ID: 1000, Name: "s", File: c.file("s.bin")}).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return db.Save(&Item{ID: 1000, Name: "taken", File: c.file("s.bin")}).Error
			},
			check: func(c *mcase) {
				if it := c.wantItem("s", "s.bin"); it != nil && it.ID != 1000 {
					c.t.Errorf("id %d, want 1000", it.ID)
				}
			},
		},
		{
			// Two rows of one insert share one new value: one upload, one key.
			name: "create-slice-shared-value", uploads: 1, stmts: 1,
			run: func(c *mcase, db *gorm.DB) error {
				f := c.file("s.bin")
				return db.Create(&[]Item{{Name: "a", File: f}, {Name: "b", File: f}}).Error
			},
			check: func(c *mcase) {
				c.wantItem("a", "s.bin")
				c.wantItem("b", "s.bin")
			},
		},
		{
			name: "save-existing", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("s", "s0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				return saveItem(c, db, "s", "s", "s1.bin")
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return saveItem(c, db, "s", "taken", "s1.bin")
			},
			check: func(c *mcase) { c.wantItem("s", "s1.bin") },
		},
		{
			name: "save-slice-upsert", uploads: 2, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("p", "p0.bin") },
			run:   func(c *mcase, db *gorm.DB) error { return saveSlice(c, db, "q") },
			dup:   func(c *mcase, db *gorm.DB) error { return saveSlice(c, db, "taken") },
			check: func(c *mcase) {
				c.wantItem("p", "p1.bin")
				c.wantItem("q", "q.bin")
			},
		},
		{
			name: "upsert-update-all", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("u", "u0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				return db.Clauses(clause.OnConflict{
					Columns:   []clause.Column{{Name: "name"}},
					UpdateAll: true,
				}).Create(&Item{Name: "u", File: c.file("u1.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("u", "u1.bin") },
		},
		{
			// The new upload is named by no row once the insert is skipped.
			name: "upsert-do-nothing", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("u", "u0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				return db.Clauses(clause.OnConflict{DoNothing: true}).
					Create(&Item{Name: "u", File: c.file("u1.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("u", "u0.bin") },
		},
		{
			name: "update-file", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).Update("file", c.file("a1.bin")).Error
			},
			check: func(c *mcase) { c.wantItem("a", "a1.bin") },
		},
		{
			name: "update-clear", stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).Update("file", "").Error
			},
			check: func(c *mcase) {
				if it := c.loadItem("a"); it.File.Key() != "" {
					c.t.Errorf("cleared item holds %q", it.File.Key())
				}
			},
		},
		{
			name: "updates-struct", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				return updatesStruct(c, db, "a2")
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return updatesStruct(c, db, "taken")
			},
			check: func(c *mcase) { c.wantItem("a2", "a1.bin") },
		},
		{
			name: "updates-map", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				return updatesMap(c, db, "a2")
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return updatesMap(c, db, "taken")
			},
			check: func(c *mcase) { c.wantItem("a2", "a1.bin") },
		},
		{
			name: "select-updates", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).Select("file").
					Updates(Item{Name: "ignored", File: c.file("a1.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("a", "a1.bin") },
		},
		{
			// The omitted file column is not uploaded, so no storage fault applies.
			name: "omit-updates", stmts: 1,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).Omit("file").
					Updates(Item{Name: "a2", File: c.file("a1.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("a2", "a0.bin") },
		},
		{
			name: "update-column", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).UpdateColumn("file", c.file("a1.bin")).Error
			},
			check: func(c *mcase) { c.wantItem("a", "a1.bin") },
		},
		{
			name: "update-columns", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("a", "a0.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).UpdateColumns(Item{Name: "a2", File: c.file("a1.bin")}).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(it).UpdateColumns(map[string]any{"name": "taken",
					"file": c.file("a1.bin")}).Error
			},
			check: func(c *mcase) { c.wantItem("a2", "a1.bin") },
		},
		{
			// One upload, written into two rows: both old objects go.
			name: "update-where-many", uploads: 1, stmts: 1, deletes: true,
			setup: func(c *mcase) {
				c.mkItem("m1", "m1.bin")
				c.mkItem("m2", "m2.bin")
			},
			run: func(c *mcase, db *gorm.DB) error {
				return db.Model(&Item{}).Where("name IN ?", []string{"m1", "m2"}).
					Update("file", c.file("m.bin")).Error
			},
			check: func(c *mcase) {
				c.wantItem("m1", "m.bin")
				c.wantItem("m2", "m.bin")
			},
		},
		{
			// b takes a's key: b's old object goes, a's stays.
			name: "copy-key", stmts: 1, deletes: true,
			setup: func(c *mcase) {
				c.mkItem("a", "a.bin")
				c.mkItem("b", "b.bin")
			},
			run: func(c *mcase, db *gorm.DB) error {
				a, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Model(&Item{}).Where("name = ?", "b").Update("file", a.File.Key()).Error
			},
			check: func(c *mcase) {
				c.wantItem("a", "a.bin")
				c.wantItem("b", "a.bin")
			},
		},
		{
			// The same through a struct: b takes a's loaded value.
			name: "copy-key-struct", stmts: 1, deletes: true,
			setup: func(c *mcase) {
				c.mkItem("a", "a.bin")
				c.mkItem("b", "b.bin")
			},
			run: func(c *mcase, db *gorm.DB) error {
				a, err := item(db, "a")
				if err != nil {
					return err
				}
				b, err := item(db, "b")
				if err != nil {
					return err
				}
				return db.Model(b).Updates(Item{File: a.File}).Error
			},
			check: func(c *mcase) {
				c.wantItem("a", "a.bin")
				c.wantItem("b", "a.bin")
			},
		},
		{
			// a and b share a key: deleting a keeps the object b names.
			name: "delete-shared-key", stmts: 1,
			setup: func(c *mcase) {
				a := c.mkItem("a", "a.bin")
				c.mkItem("b", "b.bin")
				err := c.db.Model(&Item{}).Where("name = ?", "b").Update("file", a.File.Key()).Error
				if err != nil {
					c.t.Fatal(err)
				}
			},
			run: func(c *mcase, db *gorm.DB) error {
				a, err := item(db, "a")
				if err != nil {
					return err
				}
				return db.Delete(a).Error
			},
			check: func(c *mcase) {
				c.wantNoItem("a")
				c.wantItem("b", "a.bin")
			},
		},
		{
			name: "delete-row", stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("d1", "d1.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				it, err := item(db, "d1")
				if err != nil {
					return err
				}
				return db.Delete(it).Error
			},
			check: func(c *mcase) { c.wantNoItem("d1") },
		},
		{
			name: "delete-by-id", stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkItem("d1", "d1.bin") },
			run: func(c *mcase, db *gorm.DB) error {
				return db.Delete(&Item{}, c.loadItem("d1").ID).Error
			},
			check: func(c *mcase) { c.wantNoItem("d1") },
		},
		{
			name: "delete-by-ids", stmts: 1, deletes: true,
			setup: func(c *mcase) {
				c.mkItem("d1", "d1.bin")
				c.mkItem("d2", "d2.bin")
				c.mkItem("d3", "d3.bin")
			},
			run: func(c *mcase, db *gorm.DB) error {
				ids := []uint{c.loadItem("d1").ID, c.loadItem("d2").ID}
				return db.Delete(&Item{}, ids).Error
			},
			check: func(c *mcase) {
				c.wantNoItem("d1")
				c.wantNoItem("d2")
				c.wantItem("d3", "d3.bin")
			},
		},
		{
			name: "delete-slice", stmts: 1, deletes: true,
			setup: func(c *mcase) {
				c.mkItem("d1", "d1.bin")
				c.mkItem("d2", "d2.bin")
			},
			run: func(c *mcase, db *gorm.DB) error {
				var rows []Item
				if err := db.Where("name IN ?", []string{"d1", "d2"}).Find(&rows).Error; err != nil {
					return err
				}
				return db.Delete(&rows).Error
			},
			check: func(c *mcase) {
				c.wantNoItem("d1")
				c.wantNoItem("d2")
			},
		},
		{
			name: "delete-where", stmts: 1, deletes: true,
			setup: func(c *mcase) {
				c.mkItem("d1", "d1.bin")
				c.mkItem("d2", "d2.bin")
				c.mkItem("x", "x.bin")
			},
			run: func(c *mcase, db *gorm.DB) error {
				return db.Where("name LIKE ?", "d%").Delete(&Item{}).Error
			},
			check: func(c *mcase) {
				c.wantNoItem("d1")
				c.wantNoItem("d2")
				c.wantItem("x", "x.bin")
			},
		},
		{
			name: "soft-delete", stmts: 1,
			setup: func(c *mcase) { c.mkNote("n", "n.txt") },
			run: func(c *mcase, db *gorm.DB) error {
				return db.Where("name = ?", "n").Delete(&Note{}).Error
			},
			check: func(c *mcase) { c.wantNote("n", true, "n.txt") },
		},
		{
			name: "unscoped-delete", stmts: 1, deletes: true,
			setup: func(c *mcase) { c.mkNote("n", "n.txt") },
			run: func(c *mcase, db *gorm.DB) error {
				return db.Unscoped().Where("name = ?", "n").Delete(&Note{}).Error
			},
			check: func(c *mcase) { c.wantNoNote("n") },
		},
		{
			name: "hard-delete-soft-deleted", stmts: 1, deletes: true,
			setup: func(c *mcase) {
				n := c.mkNote("n", "n.txt")
				c.mkNote("live", "live.txt")
				if err := c.db.Delete(n).Error; err != nil {
					c.t.Fatal(err)
				}
			},
			run: func(c *mcase, db *gorm.DB) error {
				return db.Unscoped().Where("deleted_at IS NOT NULL").Delete(&Note{}).Error
			},
			check: func(c *mcase) {
				c.wantNoNote("n")
				c.wantNote("live", false, "live.txt")
			},
		},
		{
			// The attachments are inserted by a statement of their own, inside the
			// folder's: the database fault strikes the folder's, after theirs.
			name: "create-with-children", uploads: 3, stmts: 2,
			setup: func(c *mcase) { c.mkFolder("old", "taken") },
			run: func(c *mcase, db *gorm.DB) error {
				return db.Create(&Folder{Name: "f", Attachments: []Attachment{
					{Name: "x1", File: c.file("x1.bin")}, {Name: "x2", File: c.file("x2.bin")},
					{Name: "x3", File: c.file("x3.bin")},
				}}).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				return db.Create(&Folder{Name: "f", Attachments: []Attachment{
					{Name: "x1", File: c.file("x1.bin")}, {Name: "x2", File: c.file("x2.bin")},
					{Name: "taken", File: c.file("x3.bin")},
				}}).Error
			},
			check: func(c *mcase) { c.wantAttachments("f", "x1", "x2", "x3") },
		},
		{
			name: "delete-with-children", stmts: 2, deletes: true,
			setup: func(c *mcase) { c.mkFolder("f", "x1", "x2", "x3") },
			run: func(c *mcase, db *gorm.DB) error {
				var fo Folder
				if err := db.Where("name = ?", "f").First(&fo).Error; err != nil {
					return err
				}
				return db.Select(clause.Associations).Delete(&fo).Error
			},
			// Without its attachments, the folder's delete violates their foreign key.
			dup: func(c *mcase, db *gorm.DB) error {
				var fo Folder
				if err := db.Where("name = ?", "f").First(&fo).Error; err != nil {
					return err
				}
				return db.Delete(&fo).Error
			},
			check: func(c *mcase) { c.wantNoFolder("f") },
		},
		{
			// Save of a loaded folder with a new attachment: the attachments are
			// upserted, the existing ones keep their files.
			name: "save-parent-add-child", uploads: 1, stmts: 2,
			setup: func(c *mcase) { c.mkFolder("f", "x1", "x2") },
			run: func(c *mcase, db *gorm.DB) error {
				fo, err := loadFolder(db, "f")
				if err != nil {
					return err
				}
				fo.Attachments = append(fo.Attachments, Attachment{Name: "x3",
					File: c.file("x3.bin")})
				return db.Save(fo).Error
			},
			dup: func(c *mcase, db *gorm.DB) error {
				fo, err := loadFolder(db, "f")
				if err != nil {
					return err
				}
				fo.Attachments = append(fo.Attachments, Attachment{Name: "x1",
					File: c.file("x3.bin")})
				return db.Save(fo).Error
			},
			check: func(c *mcase) { c.wantAttachments("f", "x1", "x2", "x3") },
		},
		{
			// With FullSaveAssociations an attachment's new file replaces its old one
			// through the attachments' upsert.
			name: "save-parent-replace-child-file", uploads: 1, stmts: 2, deletes: true,
			setup: func(c *mcase) { c.mkFolder("f", "x1", "x2") },
			run: func(c *mcase, db *gorm.DB) error {
				fo, err := loadFolder(db, "f")
				if err != nil {
					return err
				}
				fo.Attachments[1].File = c.file("x2-new.bin")
				return db.Session(&gorm.Session{FullSaveAssociations: true}).Save(fo).Error
			},
			check: func(c *mcase) {
				var a Attachment
				if err := c.db.Where("name = ?", "x2").First(&a).Error; err != nil {
					c.t.Fatal(err)
				}
				c.wantFile(a.File.Key(), "attachments/x2-new.bin", "x2-new.bin")
			},
		},
		{
			// The inner transaction replaces keep's file and creates i, then rolls
			// back; the outer one commits o.
			name: "nested-tx", uploads: 3, stmts: 3,
			absorbs: []fault{fSaveLast, fCleanup, fDBError, fDBConstraint, fDBCommit},
			setup:   func(c *mcase) { c.mkItem("keep", "k0.bin") },
			run:     func(c *mcase, db *gorm.DB) error { return nestedPath(c, db, "i") },
			// The inner insert violates the unique name: a real database error inside
			// the savepoint, which PostgreSQL recovers from by rolling back to it.
			dup: func(c *mcase, db *gorm.DB) error { return nestedPath(c, db, "taken") },
			check: func(c *mcase) {
				c.wantItem("o", "o.bin")
				c.wantItem("keep", "k0.bin")
				c.wantNoItem("i")
			},
		},
		{
			// Begin, SavePoint, RollbackTo and Commit by hand.
			name: "savepoint", uploads: 4, stmts: 4, noWrap: true,
			setup: func(c *mcase) { c.mkItem("keep", "k0.bin") },
			run:   func(c *mcase, db *gorm.DB) error { return savepointPath(c, db, "c") },
			dup:   func(c *mcase, db *gorm.DB) error { return savepointPath(c, db, "taken") },
			check: func(c *mcase) {
				c.wantItem("a", "a.bin")
				c.wantNoItem("b")
				c.wantItem("keep", "k0.bin")
				c.wantItem("c", "c.bin")
			},
		},
	}
}

func createItems(c *mcase, names ...string) []Item {
	items := make([]Item, len(names))
	for i, n := range names {
		items[i] = Item{Name: n, File: c.file(n + ".bin")}
	}
	return items
}

func saveItem(c *mcase, db *gorm.DB, name, newName, client string) error {
	it, err := item(db, name)
	if err != nil {
		return err
	}
	it.Name = newName
	it.File = c.file(client)
	return db.Save(it).Error
}

func saveSlice(c *mcase, db *gorm.DB, newName string) error {
	p, err := item(db, "p")
	if err != nil {
		return err
	}
	p.File = c.file("p1.bin")
	rows := []Item{*p, {Name: newName, File: c.file("q.bin")}}
	return db.Save(&rows).Error
}

func updatesStruct(c *mcase, db *gorm.DB, newName string) error {
	it, err := item(db, "a")
	if err != nil {
		return err
	}
	return db.Model(it).Updates(Item{Name: newName, File: c.file("a1.bin")}).Error
}

func updatesMap(c *mcase, db *gorm.DB, newName string) error {
	it, err := item(db, "a")
	if err != nil {
		return err
	}
	return db.Model(it).Updates(map[string]any{"name": newName, "file": c.file("a1.bin")}).
		Error
}

// nestedPath creates o, then in a nested transaction replaces keep's file and creates
// an item named inner, and rolls the nested transaction back.
func nestedPath(c *mcase, db *gorm.DB, inner string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&Item{Name: "o", File: c.file("o.bin")}).Error; err != nil {
			return err
		}
		err := tx.Transaction(func(tx2 *gorm.DB) error {
			keep, err := item(tx2, "keep")
			if err != nil {
				return err
			}
			if err := tx2.Model(keep).Update("file", c.file("k1.bin")).Error; err != nil {
				return err
			}
			if err := tx2.Create(&Item{Name: inner, File: c.file("i.bin")}).Error; err != nil {
				return err
			}
			return errInner
		})
		if err == nil {
			return errors.New("inner transaction: no error")
		}
		return nil
	})
}

// savepointPath creates a, sets a savepoint, creates b and replaces keep's file, rolls
// back to the savepoint, creates an item named last and commits, by hand.
func savepointPath(c *mcase, db *gorm.DB, last string) error {
	tx := db.Begin()
	if tx.Error != nil {
		return tx.Error
	}
	err := func() error {
		if err := tx.Create(&Item{Name: "a", File: c.file("a.bin")}).Error; err != nil {
			return err
		}
		if err := tx.SavePoint("sp1").Error; err != nil {
			return err
		}
		if err := tx.Create(&Item{Name: "b", File: c.file("b.bin")}).Error; err != nil {
			return err
		}
		keep, err := item(tx, "keep")
		if err != nil {
			return err
		}
		if err := tx.Model(keep).Update("file", c.file("k1.bin")).Error; err != nil {
			return err
		}
		if err := tx.RollbackTo("sp1").Error; err != nil {
			return err
		}
		return tx.Create(&Item{Name: last, File: c.file("c.bin")}).Error
	}()
	if err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit().Error
}
