package gormfile

import (
	"context"
	"database/sql"
	"regexp"
	"sync"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile/storage"
)

// GORM has no commit hooks, so the plugin puts itself between GORM and the connection
// pool: pool begins transactions and wraps them in a txPool, whose Commit and Rollback
// run the object work that waits on them. Both stay thin: every query goes straight to
// the wrapped pool.

// objectRef names one object in one storage.
type objectRef struct {
	storage     storage.Storage
	storageName string
	key         string
	// table and column, where known, let a delete check that no row references the
	// key any more: owner when set (the image a rendition belongs to), else key.
	table, column string
	owner         string
	// record is the ID of the row in the pending-deletes table that stands for this
	// delete until it is done; 0 when none was written.
	record uint64
}

// lookupKey is the key rows name for the object: its owner's for a rendition.
func (r objectRef) lookupKey() string {
	if r.owner != "" {
		return r.owner
	}
	return r.key
}

// pool wraps the *gorm.DB's connection pool.
type pool struct {
	gorm.ConnPool
	plugin *Plugin
}

var (
	_ gorm.ConnPool         = (*pool)(nil)
	_ gorm.ConnPoolBeginner = (*pool)(nil)
	_ gorm.GetDBConnector   = (*pool)(nil)
)

// BeginTx begins a transaction on the wrapped pool and returns it wrapped.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	var (
		inner gorm.ConnPool
		err   error
	)
	switch b := p.ConnPool.(type) {
	case gorm.TxBeginner:
		inner, err = b.BeginTx(ctx, opts)
	case gorm.ConnPoolBeginner:
		inner, err = b.BeginTx(ctx, opts)
	default:
		return nil, gorm.ErrInvalidTransaction
	}
	if err != nil {
		return nil, err
	}
	committer, ok := inner.(gorm.TxCommitter)
	if !ok {
		return nil, gorm.ErrInvalidTransaction
	}
	return &txPool{ConnPool: inner, committer: committer, plugin: p.plugin, ctx: ctx}, nil
}

// GetDBConn returns the *sql.DB under the pool, for (*gorm.DB).DB.
func (p *pool) GetDBConn() (*sql.DB, error) {
	switch c := p.ConnPool.(type) {
	case *sql.DB:
		return c, nil
	case gorm.GetDBConnector:
		return c.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

// txPool is one transaction. It collects the objects the transaction's statements
// uploaded (removed if it rolls back) and the objects they made unreferenced (deleted
// once it commits). Savepoints are followed through the SQL that GORM sends for them,
// so that rolling back to one undoes only the uploads made after it.
type txPool struct {
	gorm.ConnPool
	committer gorm.TxCommitter
	plugin    *Plugin
	ctx       context.Context

	mu       sync.Mutex
	uploads  []objectRef
	deletes  []objectRef
	marks    []savepoint
	finished bool
}

type savepoint struct {
	name             string
	uploads, deletes int
}

var (
	_ gorm.ConnPool       = (*txPool)(nil)
	_ gorm.TxCommitter    = (*txPool)(nil)
	_ gorm.GetDBConnector = (*txPool)(nil)
)

// add records a finished statement's uploads and deletes.
func (tx *txPool) add(uploads, deletes []objectRef) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.uploads = append(tx.uploads, uploads...)
	tx.deletes = append(tx.deletes, deletes...)
}

// Commit commits, then deletes the objects the transaction's changes left behind. If
// the commit fails the transaction's uploads are removed instead.
func (tx *txPool) Commit() error {
	err := tx.committer.Commit()
	uploads, deletes := tx.finish()
	if err != nil {
		tx.plugin.removeUploads(tx.ctx, uploads)
		return err
	}
	tx.plugin.deleteCommitted(tx.ctx, deletes)
	return nil
}

// Rollback rolls back and removes the objects the transaction uploaded.
func (tx *txPool) Rollback() error {
	err := tx.committer.Rollback()
	uploads, _ := tx.finish()
	tx.plugin.removeUploads(tx.ctx, uploads)
	return err
}

func (tx *txPool) finish() (uploads, deletes []objectRef) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.finished {
		return nil, nil
	}
	tx.finished = true
	return tx.uploads, tx.deletes
}

// GetDBConn returns the *sql.DB the transaction runs on.
func (tx *txPool) GetDBConn() (*sql.DB, error) {
	if c, ok := tx.ConnPool.(gorm.GetDBConnector); ok {
		return c.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

var savepointSQL = regexp.MustCompile(`(?i)^\s*(?:(SAVEPOINT)\s+|` +
	`(ROLLBACK)\s+TO\s+(?:SAVEPOINT\s+)?|(RELEASE)\s+(?:SAVEPOINT\s+)?)"?(\w+)"?\s*;?\s*$`)

// ExecContext runs the statement and follows savepoints.
func (tx *txPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.ConnPool.ExecContext(ctx, query, args...)
	if err != nil || len(query) > 128 {
		return res, err
	}
	m := savepointSQL.FindStringSubmatch(query)
	switch {
	case m == nil:
	case m[1] != "":
		tx.mu.Lock()
		tx.marks = append(tx.marks, savepoint{m[4], len(tx.uploads), len(tx.deletes)})
		tx.mu.Unlock()
	case m[2] != "":
		tx.rollbackTo(ctx, m[4])
	case m[3] != "":
		tx.mu.Lock()
		if i := tx.findMark(m[4]); i >= 0 {
			tx.marks = tx.marks[:i]
		}
		tx.mu.Unlock()
	}
	return res, err
}

// rollbackTo forgets what was recorded since the savepoint and removes the uploads.
func (tx *txPool) rollbackTo(ctx context.Context, name string) {
	tx.mu.Lock()
	i := tx.findMark(name)
	if i < 0 {
		tx.mu.Unlock()
		return
	}
	m := tx.marks[i]
	undone := append([]objectRef(nil), tx.uploads[m.uploads:]...)
	tx.uploads, tx.deletes = tx.uploads[:m.uploads], tx.deletes[:m.deletes]
	tx.marks = tx.marks[:i+1]
	tx.mu.Unlock()
	tx.plugin.removeUploads(ctx, undone)
}

func (tx *txPool) findMark(name string) int {
	for i := len(tx.marks) - 1; i >= 0; i-- {
		if tx.marks[i].name == name {
			return i
		}
	}
	return -1
}
