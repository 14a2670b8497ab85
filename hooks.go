// Package gormfile gives GORM models file and image columns whose bytes live in a
// storage: the local filesystem by default, S3 in production.
//
// The column types are in package field, the storages in package storage and its
// backends. This package is the GORM plugin that ties them together:
//
//	db.Use(gormfile.New(media, nil))
//
// # What the plugin does
//
//   - Before a row is inserted or updated (Create, Save, Updates), it streams each
//     column's new content to the column's storage and writes the key into the row.
//   - If the statement fails, or the transaction it runs in rolls back, the objects it
//     uploaded are removed again.
//   - When a row is deleted for good (not soft-deleted), or a column's file is replaced
//     or cleared, the old object is deleted, but only after the transaction commits:
//     GORM's own transaction or the caller's (db.Transaction, Begin/Commit). Rolling
//     back to a savepoint removes only the uploads made after it.
//   - After a query, each column value is told which storage holds it, so that its URL,
//     Open and Size work; loading rows never touches the storage.
//
// # Guarantee and limits
//
// A row never names an object that is missing because of the plugin: objects are
// written before the row and deleted after the row change commits, and only if no row
// of the same column names them then. What can be left is the other way round: an
// object no row names, when the process dies between an upload and its statement, a
// delete after commit fails (it stays recorded in the pending-deletes table), the
// caller's context cancels an upload that S3 completes all the same, or Save of a new
// row whose primary key is set fails after GORM's first attempt, an update, uploaded.
// Such objects are found by [Plugin.Sweep].
//
// Rows may share a key within one column. A statement that writes a key as a string is
// refused, with [ErrKeyRefused], unless the key names an object under the column's
// upload-to directory. Statements the plugin cannot see (db.Exec, or db.Table without
// a model) are not covered.
package gormfile

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

// Options tunes the plugin. A nil *Options means the zero value.
type Options struct {
	// Storages are further storages by name, which a field's tag selects with
	// `file:"storage:NAME"`. The name "default" is the storage given to New.
	Storages map[string]storage.Storage

	// Now returns the time that upload-to date patterns expand with; time.Now when nil.
	Now func() time.Time

	// UploadConcurrency bounds the uploads of one statement that run at once, when it
	// inserts several rows; 0 means 8.
	UploadConcurrency int

	// OnCleanupError is told of an object that could not be removed: an upload undone
	// after a failed statement or rollback, or an old object after a commit. The row
	// change itself has succeeded or failed as reported; the object is left behind for
	// a sweep. Nil ignores such errors.
	OnCleanupError func(ctx context.Context, s storage.Storage, key string, err error)
}

// Plugin is the GORM plugin. Register it with db.Use.
type Plugin struct {
	storages map[string]storage.Storage
	opts     Options
	schemas  sync.Map // *schema.Schema → schemaColumns
	db       *gorm.DB
	// returning is set when the database takes RETURNING on INSERT and DELETE: a hard
	// delete then reads the keys it removes as it runs, and the deletes it leaves are
	// checked and recorded in one statement.
	returning bool
	// prepare is set on SQLite, where the plugin's own statements are prepared once
	// and kept in stmts (by query) rather than prepared each time they run.
	prepare bool
	stmts   sync.Map
	// recordSQLs holds, by table and column, the INSERT that records one delete.
	recordSQLs sync.Map

	// done holds the records of deletes done but not yet forgotten.
	doneMu sync.Mutex
	done   []uint64
	doneAt time.Time
}

var _ gorm.Plugin = (*Plugin)(nil)

// New returns the plugin with def as the "default" storage.
func New(def storage.Storage, opts *Options) *Plugin {
	p := &Plugin{storages: map[string]storage.Storage{"default": def}}
	if opts != nil {
		p.opts = *opts
	}
	for name, s := range p.opts.Storages {
		if name != "default" || def == nil {
			p.storages[name] = s
		}
	}
	if p.opts.Now == nil {
		p.opts.Now = time.Now
	}
	if p.opts.UploadConcurrency <= 0 {
		p.opts.UploadConcurrency = 8
	}
	return p
}

// Storage returns the storage registered under name, or nil.
func (p *Plugin) Storage(name string) storage.Storage { return p.storages[name] }

// Name returns the plugin's name, "gormfile".
func (p *Plugin) Name() string { return "gormfile" }

// Initialize wraps db's connection pool, so that the plugin learns of commits and
// rollbacks, and registers the plugin's callbacks.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if p.storages["default"] == nil {
		return errors.New("gormfile: no default storage")
	}
	if _, ok := db.ConnPool.(*pool); !ok {
		db.ConnPool = &pool{ConnPool: db.ConnPool, plugin: p}
		db.Statement.ConnPool = db.ConnPool
	}
	p.db = db
	p.doneAt = time.Now()
	p.returning = takesReturning(db)
	p.prepare = p.returning && db.Dialector.Name() == "sqlite"
	if err := db.AutoMigrate(&PendingDelete{}); err != nil {
		return fmt.Errorf("gormfile: creating the pending-deletes table: %w", err)
	}

	cb := db.Callback()
	regs := []struct {
		name string
		err  error
	}{
		{"create upload", cb.Create().After("gorm:before_create").Before("gorm:create").
			Register("gormfile:upload", p.uploadCreate)},
		{"create upserted", cb.Create().After("gorm:create").Before("gorm:after_create").
			Register("gormfile:upserted", p.upserted)},
		{"create finish", cb.Create().After("gorm:commit_or_rollback_transaction").
			Register("gormfile:finish", p.finish)},
		{"update upload", cb.Update().After("gorm:before_update").Before("gorm:update").
			Register("gormfile:upload", p.uploadUpdate)},
		{"update replaced", cb.Update().After("gorm:update").Before("gorm:after_update").
			Register("gormfile:replaced", p.replaced)},
		{"update finish", cb.Update().After("gorm:commit_or_rollback_transaction").
			Register("gormfile:finish", p.finish)},
		{"delete collect", cb.Delete().After("gorm:delete_before_associations").
			Before("gorm:delete").
			Register("gormfile:collect", p.collectDeleted)},
		{"delete deleted", cb.Delete().After("gorm:delete").Before("gorm:after_delete").
			Register("gormfile:deleted", p.deleted)},
		{"delete finish", cb.Delete().After("gorm:commit_or_rollback_transaction").
			Register("gormfile:finish", p.finish)},
		{"query columns", cb.Query().Before("gorm:query").
			Register("gormfile:columns", p.readQueried)},
		{"query bind", cb.Query().After("gorm:after_query").
			Register("gormfile:bind", p.bindQueried)},
	}
	for _, r := range regs {
		if r.err != nil {
			return fmt.Errorf("gormfile: register %s callback: %w", r.name, r.err)
		}
	}
	return nil
}

// stmtFiles is what one statement did to objects, kept until it finishes.
type stmtFiles struct {
	mu      sync.Mutex
	uploads []objectRef
	// deletes are objects to delete after the commit if no row names them then.
	deletes []objectRef
	// old holds, for update and delete, each target row's keys before the change, by
	// column; written says which columns the update writes and their new keys.
	old     []map[string]string
	written map[string]string
	// upserted are the keys an upsert may have replaced or left unreferenced.
	upserted []objectRef
}

func (st *stmtFiles) addUpload(r objectRef) {
	st.mu.Lock()
	st.uploads = append(st.uploads, r)
	st.mu.Unlock()
}

const stateKey = "gormfile:state"

func stateOf(db *gorm.DB) *stmtFiles {
	if v, ok := db.InstanceGet(stateKey); ok {
		return v.(*stmtFiles)
	}
	st := &stmtFiles{}
	db.InstanceSet(stateKey, st)
	return st
}

// fileColumns returns the statement's file columns, or nil when it has none, already
// failed or is a dry run (which runs nothing: no upload, no key read).
func (p *Plugin) fileColumns(db *gorm.DB) []*column {
	if db.Error != nil || db.Statement.Schema == nil || db.DryRun {
		return nil
	}
	cols, err := p.columns(db.Statement.Schema)
	if err != nil {
		db.AddError(err)
		return nil
	}
	return cols
}

// uploadCreate saves the new content of every row being inserted. The uploads of a
// statement that inserts several rows (a slice, a batch of CreateInBatches) run
// concurrently, at most Options.UploadConcurrency at a time.
func (p *Plugin) uploadCreate(db *gorm.DB) {
	cols := p.fileColumns(db)
	if len(cols) == 0 {
		return
	}
	stmt := db.Statement
	st := stateOf(db)
	selected, restricted := stmt.SelectAndOmitColumns(true, false)
	if maps := insertedMaps(stmt.Dest); maps != nil {
		// Create with maps: their values are handled as an update's map's are.
		for _, m := range maps {
			for _, c := range cols {
				v, name, ok := mapValue(m, c)
				sel, listed := selected[c.field.DBName]
				if !ok || (listed && !sel) || (!listed && restricted) {
					continue
				}
				if _, err := p.saveMapValue(db, st, c, m, name, v); err != nil {
					db.AddError(err)
					return
				}
			}
		}
		if upsert(stmt) {
			p.collectUpsert(db, st, cols)
		}
		return
	}
	var jobs []uploadJob
	_ = eachRow(stmt.ReflectValue, func(row reflect.Value) error {
		for _, c := range cols {
			if sel, ok := selected[c.field.DBName]; (ok && !sel) || (!ok && restricted) {
				continue // the insert leaves the column out
			}
			if ff, ok := c.fileOf(stmt.Context, row); ok {
				jobs = append(jobs, uploadJob{c, ff, row})
			}
		}
		return nil
	})
	if err := p.runUploads(db, st, jobs); err != nil {
		db.AddError(err)
		return
	}
	for _, j := range jobs {
		if err := setSize(stmt.Context, j.c, j.ff, j.row); err != nil {
			db.AddError(err)
			return
		}
	}
	if upsert(stmt) {
		p.collectUpsert(db, st, cols)
	}
}

// insertedMaps returns the maps an insert takes its rows from (Create with a map or a
// slice of maps), or nil.
func insertedMaps(dest any) []map[string]any {
	switch d := dest.(type) {
	case map[string]any:
		return []map[string]any{d}
	case *map[string]any:
		return []map[string]any{*d}
	case []map[string]any:
		return d
	case *[]map[string]any:
		return *d
	}
	return nil
}

// uploadJob is one column value of one row to save.
type uploadJob struct {
	c   *column
	ff  fieldFile
	row reflect.Value
}

// runUploads saves the pending values of jobs, concurrently when there are several. On
// the first failure the uploads not yet started are skipped, those under way are let
// finish, and the error is returned; what was saved is recorded for removal. Uploads
// under way are not cancelled: a cancelled request may still have written its object
// (S3), which nothing would then remove before a sweep.
func (p *Plugin) runUploads(db *gorm.DB, st *stmtFiles, jobs []uploadJob) error {
	var pending []uploadJob
	queued := map[any]bool{}
	for _, j := range jobs {
		if !j.ff.Pending() {
			continue
		}
		// Copies of a value share its content: one upload serves them all, and two
		// would read the same reader at once.
		if id := j.ff.ContentID(); id != nil {
			if queued[id] {
				continue
			}
			queued[id] = true
		}
		pending = append(pending, j)
	}
	if len(pending) <= 1 || p.opts.UploadConcurrency == 1 {
		for _, j := range pending {
			if err := p.save(db, st, j.c, j.ff, j.row); err != nil {
				return err
			}
		}
		return nil
	}

	ctx := db.Statement.Context
	failed := make(chan struct{})
	sem := make(chan struct{}, p.opts.UploadConcurrency)
	var (
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
	)
	stopped := func() bool {
		select {
		case <-failed:
			return true
		default:
			return ctx.Err() != nil
		}
	}
	for _, j := range pending {
		select {
		case sem <- struct{}{}:
		case <-failed:
		case <-ctx.Done():
		}
		if stopped() {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := p.saveCtx(ctx, st, j.c, j.ff, j.row); err != nil {
				errOnce.Do(func() { firstErr = err; close(failed) })
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	return firstErr
}

// save uploads one value's pending content and records the upload.
func (p *Plugin) save(db *gorm.DB, st *stmtFiles, c *column, ff fieldFile,
	row reflect.Value) error {
	return p.saveCtx(db.Statement.Context, st, c, ff, row)
}

func (p *Plugin) saveCtx(ctx context.Context, st *stmtFiles, c *column, ff fieldFile,
	row reflect.Value) error {
	if !ff.Pending() {
		return nil
	}
	var rowValue any
	if row.IsValid() && row.CanAddr() {
		rowValue = row.Addr().Interface()
	}
	err := ff.Save(ctx, &field.SaveContext{
		Storage:  c.storage,
		Settings: c.settings,
		Row:      rowValue,
		Field:    c.field.Name,
		Now:      p.opts.Now(),
	})
	if err != nil {
		return err
	}
	st.addUpload(p.ref(c, "", ff.Key()))
	for _, k := range ff.RenditionKeys() {
		st.addUpload(p.ref(c, "", k))
	}
	return nil
}

// setSize writes an image's width and height into the fields its tag names: the new
// size after an upload, zero when the column was cleared.
func setSize(ctx context.Context, c *column, ff fieldFile, row reflect.Value) error {
	if c.width == nil && c.height == nil {
		return nil
	}
	img, ok := ff.(*field.Image)
	if !ok {
		return nil
	}
	w, h := img.Width(), img.Height()
	if img.Key() != "" && w == 0 {
		return nil // unchanged content whose size the row already holds
	}
	for _, f := range []struct {
		sf *schema.Field
		v  int
	}{{c.width, w}, {c.height, h}} {
		if f.sf == nil {
			continue
		}
		if err := f.sf.Set(ctx, row, f.v); err != nil {
			return err
		}
	}
	return nil
}

// finish settles the statement's objects once it is over: inside the caller's
// transaction they wait for its end; otherwise the statement's own transaction has
// committed or rolled back already.
func (p *Plugin) finish(db *gorm.DB) {
	v, ok := db.InstanceGet(stateKey)
	if !ok {
		return
	}
	st := v.(*stmtFiles)
	ctx := db.Statement.Context
	_, implicit := db.InstanceGet("gorm:started_transaction")
	tx, inTx := db.Statement.ConnPool.(*txPool)
	switch {
	case inTx && !implicit:
		if db.Error != nil {
			// The statement may have written rows before it failed; should the caller
			// commit anyway, its uploads must still be there.
			tx.add(st.uploads, nil)
			return
		}
		tx.add(st.uploads, st.deletes)
	case db.Error != nil && (implicit || db.RowsAffected == 0):
		p.removeUploads(ctx, st.uploads)
		return
	case db.Error != nil:
		return // rows were written outside a transaction: keep what they name
	default:
		p.deleteCommitted(ctx, st.deletes)
	}
	p.bindSaved(db)
}

// bindSaved binds the statement's rows after a successful save.
func (p *Plugin) bindSaved(db *gorm.DB) {
	cols := p.fileColumns(db)
	if len(cols) == 0 {
		return
	}
	stmt := db.Statement
	_ = eachRow(stmt.ReflectValue, func(row reflect.Value) error {
		for _, c := range cols {
			if ff, ok := c.fileOf(stmt.Context, row); ok {
				ff.Bind(c.binding)
			}
		}
		return nil
	})
}

// readQueried reads the file columns of a query's model, and of the models it relates
// to, before the query runs: values are bound as they are scanned.
func (p *Plugin) readQueried(db *gorm.DB) {
	p.fileColumns(db)
}

// bindQueried tells each loaded value which storage holds it, where scanning did not.
func (p *Plugin) bindQueried(db *gorm.DB) {
	for _, c := range p.fileColumns(db) {
		if !c.scanBound {
			p.bindSaved(db)
			return
		}
	}
}

// cleanupContext keeps the values of ctx but not its cancellation, so that objects are
// still removed when the caller's context has ended, within a bound.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
}

// removeUploads removes objects whose rows were never written.
func (p *Plugin) removeUploads(ctx context.Context, refs []objectRef) {
	if len(refs) == 0 {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	for _, r := range refs {
		if err := r.storage.Delete(ctx, r.key); err != nil {
			p.cleanupError(ctx, r, err)
		}
	}
}

// deleteCommitted deletes objects that committed changes left unreferenced (no row of
// their column named them after the change, in its transaction) and forgets their
// records. A delete that fails keeps its record, for the sweep.
func (p *Plugin) deleteCommitted(ctx context.Context, refs []objectRef) {
	if len(refs) == 0 {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	var done []uint64
	for _, r := range refs {
		if err := r.storage.Delete(ctx, r.key); err != nil {
			p.cleanupError(ctx, r, err)
			continue
		}
		if r.record != 0 {
			done = append(done, r.record)
		}
	}
	if err := p.forgetDeletes(ctx, done); err != nil && p.opts.OnCleanupError != nil {
		p.opts.OnCleanupError(ctx, nil, "", err)
	}
}

// referenced reports whether a row of r's table still names r's key in r's column.
func (p *Plugin) referenced(ctx context.Context, r objectRef) (bool, error) {
	if r.table == "" {
		return false, nil
	}
	key := r.key
	if r.owner != "" {
		key = r.owner
	}
	var n int64
	err := p.db.Session(&gorm.Session{NewDB: true, Context: ctx}).Table(r.table).
		Where(clause.Eq{Column: clause.Column{Name: r.column}, Value: key}).
		Limit(1).Count(&n).Error
	return n > 0, err
}

func (p *Plugin) cleanupError(ctx context.Context, r objectRef, err error) {
	if p.opts.OnCleanupError != nil {
		p.opts.OnCleanupError(ctx, r.storage, r.key, err)
	}
}
