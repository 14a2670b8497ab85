package gormfile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

// This file follows updates and deletes: which rows they reach, which keys those rows
// named before, and which of those keys the change leaves unreferenced.

// uploadUpdate saves the new content an update writes and reads the keys the target
// rows hold before it.
func (p *Plugin) uploadUpdate(db *gorm.DB) {
	cols := p.fileColumns(db)
	if len(cols) == 0 {
		return
	}
	st := stateOf(db)
	written, err := p.uploadWritten(db, st, cols)
	if err != nil {
		db.AddError(err)
		return
	}
	if len(written) == 0 {
		return
	}
	st.written = written
	var changed []*column
	for _, c := range cols {
		if _, ok := written[c.field.DBName]; ok {
			changed = append(changed, c)
		}
	}
	st.old, err = p.targetKeys(db, changed)
	db.AddError(err)
}

// uploadWritten uploads the pending content among the values the update writes and
// returns the file columns it writes with their new keys; replaced compares them with
// each target row's old keys.
func (p *Plugin) uploadWritten(db *gorm.DB, st *stmtFiles,
	cols []*column) (map[string]string, error) {
	stmt := db.Statement
	ctx := stmt.Context
	selected, restricted := stmt.SelectAndOmitColumns(false, true)
	written := map[string]string{}

	switch dest := stmt.Dest.(type) {
	case map[string]any:
		for _, c := range cols {
			v, key, ok := mapValue(dest, c)
			if !ok || (restricted && !selected[c.field.DBName]) {
				continue
			}
			newKey, err := p.saveMapValue(db, st, c, dest, key, v)
			if err != nil {
				return nil, err
			}
			written[c.field.DBName] = newKey
		}
		return written, nil
	}

	dv := reflect.ValueOf(stmt.Dest)
	for dv.Kind() == reflect.Pointer {
		dv = dv.Elem()
	}
	if dv.Kind() != reflect.Struct || dv.Type() != stmt.Schema.ModelType {
		return nil, nil
	}
	if !dv.CanAddr() {
		// Updates(T{...}) passes a value; GORM copies it the same way when it needs to
		// set columns, so give it an addressable copy now.
		cp := reflect.New(dv.Type())
		cp.Elem().Set(dv)
		stmt.Dest = cp.Interface()
		dv = cp.Elem()
	}
	for _, c := range cols {
		sel, ok := selected[c.field.DBName]
		fv := c.field.ReflectValueOf(ctx, dv)
		if !((ok && sel) || (!ok && !restricted && !fv.IsZero())) {
			continue
		}
		// An unchanged value is listed too: it may have been loaded from another row,
		// whose key the target rows now take.
		ff, _ := c.fileOf(ctx, dv)
		if ff == nil {
			continue
		}
		if err := p.save(db, st, c, ff, dv); err != nil {
			return nil, err
		}
		if err := p.setUpdatedSize(db, c, ff); err != nil {
			return nil, err
		}
		written[c.field.DBName] = ff.Key()
	}
	return written, nil
}

// mapValue returns the value m holds for column c, under its column name or its Go
// name, and that name.
func mapValue(m map[string]any, c *column) (v any, name string, ok bool) {
	if v, ok := m[c.field.DBName]; ok {
		return v, c.field.DBName, true
	}
	v, ok = m[c.field.Name]
	return v, c.field.Name, ok
}

// saveMapValue uploads a file value found in an update's or an insert's map and returns
// its key.
func (p *Plugin) saveMapValue(db *gorm.DB, st *stmtFiles, c *column, dest map[string]any,
	name string, v any) (string, error) {
	var ff fieldFile
	switch v := v.(type) {
	case nil:
		setMapSize(c, dest, 0, 0)
		return "", nil
	case string:
		if v == "" {
			setMapSize(c, dest, 0, 0)
			return v, nil
		}
		return v, p.checkKeyString(db, c, v)
	case field.File:
		ff = &v
	case *field.File:
		ff = v
	case field.Image:
		ff = &v
	case *field.Image:
		ff = v
	default:
		return "", fmt.Errorf("gormfile: update of %s: a file column takes a field.File, "+
			"a field.Image, a key string or nil, not %T", c.field.Name, v)
	}
	if c.image {
		if _, ok := ff.(*field.Image); !ok && ff.Pending() {
			return "", fmt.Errorf("gormfile: update of %s: new content of an image column "+
				"must be a field.Image", c.field.Name)
		}
	}
	if err := p.save(db, st, c, ff, reflect.Value{}); err != nil {
		return "", err
	}
	dest[name] = ff
	if img, ok := ff.(*field.Image); ok {
		setMapSize(c, dest, img.Width(), img.Height())
	}
	return ff.Key(), nil
}

// ErrKeyRefused is wrapped by the error of a statement that writes, as a string, a key
// that the plugin could not keep consistent with the storage: one that names no object
// (the row would name a missing file; the error wraps fs.ErrNotExist too), or one
// outside the column's upload-to directory (the rows of the column it was copied from,
// their deletes and the sweep of that directory would not know of this row).
var ErrKeyRefused = errors.New("key refused")

// checkKeyString refuses a key string that a statement writes into column c unless it
// lies under the column's upload-to directory, when it has a fixed one, and names an
// object of the column's storage.
func (p *Plugin) checkKeyString(db *gorm.DB, c *column, key string) error {
	_, computes := reflectNew(db.Statement.Schema.ModelType).(field.UploadToer)
	if prefix := staticPrefix(c.settings.UploadTo); prefix != "" && !computes &&
		!strings.HasPrefix(key, prefix) {
		return fmt.Errorf("gormfile: writing %s: key %q is outside upload_to %q: %w",
			c.field.Name, key, prefix, ErrKeyRefused)
	}
	ok, err := storage.Exists(db.Statement.Context, c.storage, key)
	if err != nil {
		return fmt.Errorf("gormfile: writing %s: key %q: %w", c.field.Name, key, err)
	}
	if !ok {
		return fmt.Errorf("gormfile: writing %s: key %q names no object: %w: %w",
			c.field.Name, key, ErrKeyRefused, fs.ErrNotExist)
	}
	return nil
}

// setMapSize writes an image's new size into an update's map, beside its key.
func setMapSize(c *column, dest map[string]any, w, h int) {
	if c.width != nil {
		dest[c.width.DBName] = w
	}
	if c.height != nil {
		dest[c.height.DBName] = h
	}
}

// setUpdatedSize writes an image's new size through the statement, so that an update
// writes the size columns with the key.
func (p *Plugin) setUpdatedSize(db *gorm.DB, c *column, ff fieldFile) error {
	img, ok := ff.(*field.Image)
	if !ok || (c.width == nil && c.height == nil) {
		return nil
	}
	w, h := img.Width(), img.Height()
	if img.Key() != "" && w == 0 {
		return nil
	}
	for _, f := range []struct {
		sf *schema.Field
		v  int
	}{{c.width, w}, {c.height, h}} {
		if f.sf != nil {
			db.Statement.SetColumn(f.sf.DBName, f.v)
		}
	}
	return nil
}

// replaced runs after the update: each target row's old key that the update replaced
// is to be deleted once the change commits.
func (p *Plugin) replaced(db *gorm.DB) {
	p.scheduleOld(db, func(st *stmtFiles, c *column, old string) bool {
		newKey, written := st.written[c.field.DBName]
		return written && old != newKey
	})
}

// scheduleOld runs after a successful update or delete: the old keys of the target
// rows that gone(st, column, key) picks are to be deleted once the change commits, and
// are recorded as pending deletes in its transaction.
func (p *Plugin) scheduleOld(db *gorm.DB, gone func(st *stmtFiles, c *column, old string) bool) {
	v, ok := db.InstanceGet(stateKey)
	if !ok || db.Error != nil {
		return
	}
	st := v.(*stmtFiles)
	cols, _ := p.columns(db.Statement.Schema)
	for _, row := range st.old {
		for _, c := range cols {
			if old := row[c.field.DBName]; old != "" && gone(st, c, old) {
				st.deletes = append(st.deletes, p.refs(c, db.Statement.Table, old)...)
			}
		}
	}
	db.AddError(p.recordDeletes(db, st))
}

// collectDeleted arranges to learn the keys of the rows a hard delete removes: the
// DELETE returns them where the database can, else they are read first. A soft delete
// keeps the files.
func (p *Plugin) collectDeleted(db *gorm.DB) {
	cols := p.fileColumns(db)
	if len(cols) == 0 || softDelete(db.Statement) || p.returnKeys(db, cols) {
		return
	}
	old, err := p.targetKeys(db, cols)
	if err != nil {
		db.AddError(err)
		return
	}
	stateOf(db).old = old
}

// deleted runs after the delete: every key the removed rows named is to be deleted once
// the change commits.
func (p *Plugin) deleted(db *gorm.DB) {
	restoreConn(db)
	p.scheduleOld(db, func(*stmtFiles, *column, string) bool { return true })
}

// ref names the object key of column c; table, when given, is the table whose rows
// are checked for the key before the object is deleted.
func (p *Plugin) ref(c *column, table, key string) objectRef {
	return objectRef{storage: c.storage, storageName: c.settings.Storage, key: key,
		table: table, column: c.field.DBName}
}

// refs names the object key of column c and the renditions the column declares, which
// go with it.
func (p *Plugin) refs(c *column, table, key string) []objectRef {
	out := []objectRef{p.ref(c, table, key)}
	for _, r := range c.settings.Renditions {
		ref := p.ref(c, table, field.RenditionKey(key, r.Name))
		ref.owner = key
		out = append(out, ref)
	}
	return out
}

// softDelete reports whether a delete statement only marks its rows deleted.
func softDelete(stmt *gorm.Statement) bool {
	if stmt.Unscoped {
		return false
	}
	for _, c := range stmt.Schema.DeleteClauses {
		if _, ok := c.(gorm.SoftDeleteDeleteClause); ok {
			return true
		}
	}
	return false
}

// targetKeys reads, in the statement's transaction, the given file columns of the rows
// an update or delete reaches: its conditions and the primary keys of its model value.
func (p *Plugin) targetKeys(db *gorm.DB, cols []*column) ([]map[string]string, error) {
	stmt := db.Statement
	var exprs []clause.Expression
	if w, ok := stmt.Clauses["WHERE"]; ok {
		if where, ok := w.Expression.(clause.Where); ok {
			exprs = append(exprs, where.Exprs...)
		}
	}
	exprs = append(exprs, primaryKeyCond(stmt.Context, stmt, stmt.ReflectValue)...)
	if stmt.Model != nil && stmt.Dest != stmt.Model {
		exprs = append(exprs, primaryKeyCond(stmt.Context, stmt, reflect.ValueOf(stmt.Model))...)
	}
	if len(exprs) == 0 && !db.AllowGlobalUpdate {
		return nil, nil // GORM refuses the statement itself
	}
	return p.readKeys(db, cols, exprs)
}

// readKeys reads the given file columns of the rows that match exprs, in the
// statement's transaction and with its scoping (soft-deleted rows only when Unscoped).
func (p *Plugin) readKeys(db *gorm.DB, cols []*column,
	exprs []clause.Expression) ([]map[string]string, error) {
	stmt := db.Statement
	names := make([]string, 0, len(cols))
	for _, c := range cols {
		names = append(names, c.field.DBName)
	}
	q := db.Session(&gorm.Session{NewDB: true, Context: stmt.Context, SkipHooks: true}).
		Model(reflect.New(stmt.Schema.ModelType).Interface())
	if stmt.Unscoped {
		q = q.Unscoped()
	}
	q = q.Select(names).Clauses(clause.Where{Exprs: exprs})
	if rowLocks(db) {
		// Two changes of one row at once must not both read the same old key: the
		// second waits for the first to commit and reads the key it wrote.
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	rows, err := q.Rows()
	if err != nil {
		return nil, fmt.Errorf("gormfile: reading the keys of %s: %w", stmt.Table, err)
	}
	defer rows.Close()
	out, err := scanKeys(rows, names)
	if err != nil {
		return nil, fmt.Errorf("gormfile: reading the keys of %s: %w", stmt.Table, err)
	}
	return out, nil
}

// scanKeys reads rows of keys, one column per name, into one map a row.
func scanKeys(rows *sql.Rows, names []string) ([]map[string]string, error) {
	var out []map[string]string
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]string, len(names))
		for i, v := range vals {
			row[names[i]] = keyString(v)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// rowLocks reports whether the database takes SELECT ... FOR UPDATE. SQLite has no row
// locks, and needs none: it runs one writer at a time.
func rowLocks(db *gorm.DB) bool {
	switch db.Dialector.Name() {
	case "postgres", "mysql", "sqlserver":
		return true
	}
	return false
}

// primaryKeyCond is the condition on the primary keys of the rows in v, as GORM adds it
// to updates and deletes of a model value.
func primaryKeyCond(ctx context.Context, stmt *gorm.Statement,
	v reflect.Value) []clause.Expression {
	if stmt.Schema == nil || len(stmt.Schema.PrimaryFields) == 0 {
		return nil
	}
	_, queryValues := schema.GetIdentityFieldValuesMap(ctx, v, stmt.Schema.PrimaryFields)
	column, values := schema.ToQueryValues(stmt.Table, stmt.Schema.PrimaryFieldDBNames, queryValues)
	if len(values) == 0 {
		return nil
	}
	return []clause.Expression{clause.IN{Column: column, Values: values}}
}
