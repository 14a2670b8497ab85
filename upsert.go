package gormfile

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// An insert with ON CONFLICT may update rows that exist, replacing their keys, or skip
// rows, leaving their new uploads unreferenced. Which happened is not told, so the
// plugin reads the keys of the conflicting rows before, and after the commit deletes
// those keys and the new uploads that no row names.

// upsert reports whether an insert has an ON CONFLICT clause.
func upsert(stmt *gorm.Statement) bool {
	c, ok := stmt.Clauses["ON CONFLICT"]
	if !ok {
		return false
	}
	_, ok = c.Expression.(clause.OnConflict)
	return ok
}

// collectUpsert reads the keys that the rows an upsert may reach hold now.
func (p *Plugin) collectUpsert(db *gorm.DB, st *stmtFiles, cols []*column) {
	stmt := db.Statement
	oc := stmt.Clauses["ON CONFLICT"].Expression.(clause.OnConflict)
	fields := stmt.Schema.PrimaryFields
	if len(oc.Columns) > 0 {
		fields = nil
		for _, c := range oc.Columns {
			f := stmt.Schema.LookUpField(c.Name)
			if f == nil {
				return // a target GORM does not know; the statement will tell
			}
			fields = append(fields, f)
		}
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.DBName
	}
	_, queryValues := schema.GetIdentityFieldValuesMap(stmt.Context, stmt.ReflectValue, fields)
	column, values := schema.ToQueryValues(stmt.Table, names, queryValues)
	var candidates []objectRef
	if len(values) > 0 {
		cond := []clause.Expression{clause.IN{Column: column, Values: values}}
		old, err := p.readKeys(db, cols, cond)
		if err != nil {
			db.AddError(err)
			return
		}
		for _, row := range old {
			for _, c := range cols {
				if key := row[c.field.DBName]; key != "" {
					candidates = append(candidates, p.refs(c, stmt.Table, key)...)
				}
			}
		}
	}
	for _, u := range st.uploads {
		u.table = stmt.Table
		candidates = append(candidates, u)
	}
	st.upserted = candidates
}

// upserted runs after an upsert: its candidates are to be deleted after the commit if
// no row names them then.
func (p *Plugin) upserted(db *gorm.DB) {
	v, ok := db.InstanceGet(stateKey)
	if !ok || db.Error != nil {
		return
	}
	st := v.(*stmtFiles)
	if len(st.upserted) == 0 {
		return
	}
	st.deletes = append(st.deletes, st.upserted...)
	db.AddError(p.recordDeletes(db, st))
}
