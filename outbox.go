package gormfile

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
	Owner     string `gorm:"column:owner_key;size:1024"`
	CreatedAt time.Time
}

// TableName returns "gormfile_pending_deletes".
func (PendingDelete) TableName() string { return "gormfile_pending_deletes" }

// recordDeletes drops from the statement's deletes the keys that rows still name, then
// writes the rest into the pending-deletes table, through the statement's connection:
// inside its transaction when it has one. Where the database takes RETURNING, both are
// one statement.
func (p *Plugin) recordDeletes(db *gorm.DB, st *stmtFiles) error {
	st.deletes = uniqueRefs(st.deletes)
	if len(st.deletes) == 0 {
		return nil
	}
	if p.returning {
		return p.recordUnreferenced(db, st)
	}
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

// uniqueRefs drops the repeats of a delete: rows deleted together may share a key.
func uniqueRefs(refs []objectRef) []objectRef {
	if len(refs) < 2 {
		return refs
	}
	seen := make(map[refID]bool, len(refs))
	out := refs[:0]
	for _, r := range refs {
		if id := r.id(); !seen[id] {
			seen[id] = true
			out = append(out, r)
		}
	}
	return out
}

// refID is what tells two deletes apart.
type refID struct{ storage, key, table, column, owner string }

func (r objectRef) id() refID {
	return refID{r.storageName, r.key, r.table, r.column, r.owner}
}

// recordBatch is how many deletes one INSERT records: six variables each, well under
// the databases' limits on variables in a statement.
const recordBatch = 500

// recordUnreferenced records, in one INSERT ... SELECT per batch, each of the
// statement's deletes whose key no row of its column names, and keeps only those: a
// delete whose key a row still names is not recorded, and is dropped.
func (p *Plugin) recordUnreferenced(db *gorm.DB, st *stmtFiles) error {
	tx := db.Session(&gorm.Session{NewDB: true, SkipHooks: true})
	for start := 0; start < len(st.deletes); start += recordBatch {
		batch := st.deletes[start:min(start+recordBatch, len(st.deletes))]
		if err := p.recordBatch(db, tx, batch); err != nil {
			return fmt.Errorf("gormfile: recording deletes: %w", err)
		}
	}
	kept := st.deletes[:0]
	for _, r := range st.deletes {
		if r.record != 0 {
			kept = append(kept, r)
		}
	}
	st.deletes = kept
	return nil
}

// recordBatch runs the INSERT that records batch, and sets the record of each delete
// it recorded.
func (p *Plugin) recordBatch(db, tx *gorm.DB, batch []objectRef) error {
	args := make([]any, 0, 6*len(batch))
	for _, r := range batch {
		args = append(args, r.storageName, r.key, r.table, r.column, r.owner)
		if r.table != "" {
			args = append(args, r.lookupKey())
		}
	}
	rows, err := p.recordQuery(db, tx, len(batch) == 1, p.recordSQL(db, batch), args)
	if err != nil {
		return err
	}
	defer rows.Close()
	if len(batch) == 1 {
		for rows.Next() {
			if err := rows.Scan(&batch[0].record); err != nil {
				return err
			}
		}
	} else {
		index := make(map[refID]int, len(batch))
		for i, r := range batch {
			index[r.id()] = i
		}
		for rows.Next() {
			var (
				rec uint64
				id  refID
			)
			if err := rows.Scan(&rec, &id.storage, &id.key, &id.table, &id.column,
				&id.owner); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				batch[i].record = rec
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// recordSQL returns the INSERT that records batch. The form for one delete, the
// common one, returns the record's ID alone and is built once per column.
func (p *Plugin) recordSQL(db *gorm.DB, batch []objectRef) string {
	var cacheKey string
	if len(batch) == 1 {
		cacheKey = batch[0].table + "\x00" + batch[0].column
		if q, ok := p.recordSQLs.Load(cacheKey); ok {
			return q.(string)
		}
	}
	quote := func(name string) string {
		var b strings.Builder
		db.Dialector.QuoteTo(&b, name)
		return b.String()
	}
	var q strings.Builder
	q.WriteString("INSERT INTO " + quote(PendingDelete{}.TableName()) +
		" (storage_name, object_key, table_name, column_name, owner_key, created_at) ")
	for i, r := range batch {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString("SELECT ?, ?, ?, ?, ?, CURRENT_TIMESTAMP")
		if r.table != "" {
			q.WriteString(" WHERE NOT EXISTS (SELECT 1 FROM " + quote(r.table) +
				" WHERE " + quote(r.column) + " = ?)")
		}
	}
	if len(batch) == 1 {
		q.WriteString(" RETURNING id")
		p.recordSQLs.Store(cacheKey, q.String())
		return q.String()
	}
	q.WriteString(" RETURNING id, storage_name, object_key, table_name, column_name, owner_key")
	return q.String()
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

// recordQuery runs the INSERT that records deletes. SQLite takes longer to prepare it
// than to run it, so there the form that records one delete (the common one) is
// prepared once per column, and reused.
func (p *Plugin) recordQuery(db, tx *gorm.DB, single bool, query string,
	args []any) (*sql.Rows, error) {
	if single && p.prepare {
		if rows, ok, err := p.runPrepared(db, query, args); ok {
			return rows, err
		}
	}
	return tx.Raw(query, args...).Rows()
}

// runPrepared runs query, prepared, on the statement's transaction or database; ok is
// false when the query is not prepared yet, or the statement's connection is not a
// database/sql one.
func (p *Plugin) runPrepared(db *gorm.DB, query string, args []any) (*sql.Rows, bool, error) {
	ctx := db.Statement.Context
	var sqlTx *sql.Tx
	switch c := db.Statement.ConnPool.(type) {
	case *txPool:
		t, ok := c.ConnPool.(*sql.Tx)
		if !ok {
			return nil, false, nil
		}
		sqlTx = t
	case *pool:
		if _, ok := c.ConnPool.(*sql.DB); !ok {
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	stmt := p.prepared(query)
	if stmt == nil {
		return nil, false, nil
	}
	if sqlTx != nil {
		// Prepared on the transaction's connection, unless it is already.
		stmt = sqlTx.StmtContext(ctx, stmt)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	return rows, true, err
}

// prepared returns query prepared on the plugin's database, or nil when it is not yet.
// The first call prepares it in the background: the caller may hold the pool's only
// connection, in a transaction, and must not wait for another.
func (p *Plugin) prepared(query string) *sql.Stmt {
	v, loaded := p.stmts.LoadOrStore(query, (*sql.Stmt)(nil))
	if loaded {
		return v.(*sql.Stmt)
	}
	go func() {
		sqlDB, err := p.db.DB()
		if err != nil {
			return // never prepared: the query runs unprepared
		}
		if s, err := sqlDB.PrepareContext(context.Background(), query); err == nil {
			p.stmts.Store(query, s)
		}
	}()
	return nil
}
