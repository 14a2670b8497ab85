package gormfile

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// takesReturning reports whether the database takes RETURNING on INSERT and DELETE:
// PostgreSQL does, SQLite since 3.35.
func takesReturning(db *gorm.DB) bool {
	switch db.Dialector.Name() {
	case "postgres":
		return true
	case "sqlite":
		var v string
		if err := db.Raw("SELECT sqlite_version()").Scan(&v).Error; err != nil {
			return false
		}
		return versionAtLeast(v, 3, 35)
	}
	return false
}

// versionAtLeast reports whether the dotted version v is at least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// deleteReturning stands in for the statement's connection while GORM runs a hard
// delete: it adds RETURNING to the DELETE and keeps the keys of the rows it removed,
// so that no separate read (and row lock) has to come first. It changes only the first
// DELETE it runs, and only for the one statement: the delete callback puts the
// statement's own connection back.
type deleteReturning struct {
	gorm.ConnPool
	names []string // the file columns' names
	cols  string   // the same, quoted and joined
	st    *stmtFiles
	done  bool
}

// ExecContext runs the DELETE with RETURNING, and any other statement as it is.
func (d *deleteReturning) ExecContext(ctx context.Context, query string,
	args ...any) (sql.Result, error) {
	if d.done || !strings.HasPrefix(query, "DELETE ") {
		return d.ConnPool.ExecContext(ctx, query, args...)
	}
	d.done = true
	// On a line of its own: a comment that ends the statement does not swallow it.
	rows, err := d.ConnPool.QueryContext(ctx, query+"\nRETURNING "+d.cols, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	old, err := scanKeys(rows, d.names)
	if err != nil {
		return nil, err // the DELETE's own error, a constraint's say, as GORM would give it
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	d.st.old = append(d.st.old, old...)
	return deletedRows(len(old)), nil
}

// deletedRows is the result of a DELETE run with RETURNING.
type deletedRows int64

func (deletedRows) LastInsertId() (int64, error) {
	return 0, errors.New("gormfile: no insert ID after a delete")
}

func (n deletedRows) RowsAffected() (int64, error) { return int64(n), nil }

// returnKeys makes the statement's DELETE return the keys it removes, where the
// database and the statement allow: not when the statement was written by hand, or
// asks for RETURNING itself.
func (p *Plugin) returnKeys(db *gorm.DB, cols []*column) bool {
	stmt := db.Statement
	if !p.returning || stmt.SQL.Len() > 0 {
		return false
	}
	if _, ok := stmt.Clauses["RETURNING"]; ok {
		return false
	}
	d := &deleteReturning{ConnPool: stmt.ConnPool, st: stateOf(db)}
	var quoted strings.Builder
	for i, c := range cols {
		if i > 0 {
			quoted.WriteString(", ")
		}
		db.Dialector.QuoteTo(&quoted, c.field.DBName)
		d.names = append(d.names, c.field.DBName)
	}
	d.cols = quoted.String()
	stmt.ConnPool = d
	return true
}

// restoreConn puts back the statement's own connection after its delete.
func restoreConn(db *gorm.DB) {
	if d, ok := db.Statement.ConnPool.(*deleteReturning); ok {
		db.Statement.ConnPool = d.ConnPool
	}
}
