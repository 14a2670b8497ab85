package gormfile

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PendingDelete is a row of the table in which the plugin records each object that a row
// change leaves to be deleted after its commit. The row is written in the same
// transaction as the change, and removed once the object is deleted; a row that stays
// names a delete that failed or never ran (the process stopped), which [Plugin.Sweep]
// retries. The plugin creates the table when it is registered.
type PendingDelete struct {
	ID      uint64 `gorm:"primaryKey"`
	Storage string `gorm:"column:storage_name;size:64;not null"`
	Key     string `gorm:"column:object_key;size:1024;not null"`
	Table   string `gorm:"column:table_name;size:128"`
	Column  string `gorm:"column:column_name;size:128"`
	// Owner is the key rows name when Key is one of its renditions.
	Owner     string    `gorm:"column:owner_key;size:1024"`
	CreatedAt time.Time `gorm:"index"`
}

// TableName returns "gormfile_pending_deletes".
func (PendingDelete) TableName() string { return "gormfile_pending_deletes" }

// recordDeletes writes the statement's deletes into the pending-deletes table, through
// the statement's connection: inside its transaction when it has one.
func (p *Plugin) recordDeletes(db *gorm.DB, st *stmtFiles) error {
	if len(st.deletes) == 0 {
		return nil
	}
	recs := make([]PendingDelete, len(st.deletes))
	for i, r := range st.deletes {
		recs[i] = PendingDelete{Storage: r.storageName, Key: r.key, Table: r.table,
			Column: r.column, Owner: r.owner}
	}
	err := db.Session(&gorm.Session{NewDB: true, SkipHooks: true}).
		Table(PendingDelete{}.TableName()).Create(&recs).Error
	if err != nil {
		return fmt.Errorf("gormfile: recording deletes: %w", err)
	}
	for i := range recs {
		st.deletes[i].record = recs[i].ID
	}
	return nil
}

// forgetDeletes removes the records of deletes that are done.
func (p *Plugin) forgetDeletes(ctx context.Context, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	return p.db.Session(&gorm.Session{NewDB: true, Context: ctx, SkipHooks: true}).
		Where("id IN ?", ids).Delete(&PendingDelete{}).Error
}
