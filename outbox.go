package gormfile

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

// recordDeletes drops from the statement's deletes the keys that rows still name, then
// writes the rest into the pending-deletes table, through the statement's connection:
// inside its transaction when it has one.
func (p *Plugin) recordDeletes(db *gorm.DB, st *stmtFiles) error {
	if err := p.dropReferenced(db, st); err != nil {
		return err
	}
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

// dropReferenced removes from the statement's deletes the keys that a row of their
// column still names once the statement has run: rows may share a key. One query per
// column, in the statement's transaction.
func (p *Plugin) dropReferenced(db *gorm.DB, st *stmtFiles) error {
	type target struct{ table, column string }
	lookups := map[target][]any{}
	for _, r := range st.deletes {
		if r.table != "" {
			t := target{r.table, r.column}
			lookups[t] = append(lookups[t], r.lookupKey())
		}
	}
	if len(lookups) == 0 {
		return nil
	}
	used := map[target]map[string]bool{}
	for t, keys := range lookups {
		var found []string
		err := db.Session(&gorm.Session{NewDB: true, SkipHooks: true}).Table(t.table).
			Where(clause.IN{Column: clause.Column{Name: t.column}, Values: keys}).
			Distinct(t.column).Pluck(t.column, &found).Error
		if err != nil {
			return fmt.Errorf("gormfile: reading keys of %s.%s: %w", t.table, t.column, err)
		}
		used[t] = map[string]bool{}
		for _, k := range found {
			used[t][k] = true
		}
	}
	kept := st.deletes[:0]
	for _, r := range st.deletes {
		if r.table == "" || !used[target{r.table, r.column}][r.lookupKey()] {
			kept = append(kept, r)
		}
	}
	st.deletes = kept
	return nil
}

// forgetBatch is how many done deletes are forgotten in one statement.
const forgetBatch = 256

// forgetDeletes removes the records of deletes that are done. Records are removed in
// batches, at most a second late: a record left by a process that stops only makes the
// sweep retry a delete, which is idempotent.
func (p *Plugin) forgetDeletes(ctx context.Context, ids []uint64) error {
	p.doneMu.Lock()
	p.done = append(p.done, ids...)
	if len(p.done) == 0 || (len(p.done) < forgetBatch && time.Since(p.doneAt) < time.Second) {
		p.doneMu.Unlock()
		return nil
	}
	batch := p.done
	p.done, p.doneAt = nil, time.Now()
	p.doneMu.Unlock()
	return p.forget(ctx, batch)
}

// Flush forgets at once the records of deletes that are done but not yet forgotten.
// Call it before a program that deleted rows exits, to leave the sweep less to retry.
func (p *Plugin) Flush(ctx context.Context) error {
	p.doneMu.Lock()
	batch := p.done
	p.done, p.doneAt = nil, time.Now()
	p.doneMu.Unlock()
	return p.forget(ctx, batch)
}

func (p *Plugin) forget(ctx context.Context, ids []uint64) error {
	for len(ids) > 0 {
		n := min(len(ids), forgetBatch)
		err := p.db.Session(&gorm.Session{NewDB: true, Context: ctx, SkipHooks: true,
			SkipDefaultTransaction: true}).
			Where("id IN ?", ids[:n]).Delete(&PendingDelete{}).Error
		if err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
