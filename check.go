package gormfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/gormfile/gormfile/field"
)

// PluginOf returns the plugin registered on db, or nil.
func PluginOf(db *gorm.DB) *Plugin {
	p, _ := db.Config.Plugins[(&Plugin{}).Name()].(*Plugin)
	return p
}

// MissingFile is a row whose column names an object its storage does not have: the
// file itself, or one of its renditions.
type MissingFile struct {
	Table, Column, Key string
	// Rendition names the rendition whose object (under Key) is missing; empty for
	// the file itself.
	Rendition string
	// ID is the row's primary key.
	ID any
}

// CheckOptions tunes [Plugin.Check]. A nil *CheckOptions means the zero value.
type CheckOptions struct {
	// BatchSize is how many rows are read at a time; 0 means 500.
	BatchSize int
	// Concurrency bounds the storage requests under way at once; 0 means 8.
	Concurrency int
	// Missing is called for each missing object, in table order, from one goroutine.
	Missing func(MissingFile)
}

// CheckResult counts what [Plugin.Check] read.
type CheckResult struct {
	Rows, Files, Missing int64
}

// Check reads every row of the models' tables, soft-deleted ones included, page by
// page, and asks each file column's storage whether the object its key names exists,
// and the renditions an image column declares. Files counts every object asked for.
// The models are pointers to zero values (&DeviceType{}); each needs a single-column
// primary key. A storage error other than "missing" stops the check.
func (p *Plugin) Check(ctx context.Context, db *gorm.DB, models []any,
	opts *CheckOptions) (*CheckResult, error) {
	o := CheckOptions{}
	if opts != nil {
		o = *opts
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	res := &CheckResult{}
	for _, m := range models {
		if err := p.checkModel(ctx, db, m, &o, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (p *Plugin) checkModel(ctx context.Context, db *gorm.DB, model any, o *CheckOptions,
	res *CheckResult) error {
	s, cols, pk, err := p.modelColumns(db, model)
	if err != nil || len(cols) == 0 {
		return err
	}
	type item struct {
		c         *column
		id        any
		key       string
		rendition string
		err       error
	}
	page := func(ids []any, keys []map[string]string) error {
		res.Rows += int64(len(ids))
		var items []*item
		for i, row := range keys {
			for _, c := range cols {
				key := row[c.field.DBName]
				if key == "" {
					continue
				}
				items = append(items, &item{c: c, id: ids[i], key: key})
				for _, r := range c.settings.Renditions {
					items = append(items, &item{c: c, id: ids[i],
						key: field.RenditionKey(key, r.Name), rendition: r.Name})
				}
			}
		}
		res.Files += int64(len(items))
		sem := make(chan struct{}, o.Concurrency)
		var wg sync.WaitGroup
		for _, it := range items {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				_, it.err = it.c.storage.Stat(ctx, it.key)
			}()
		}
		wg.Wait()
		for _, it := range items {
			switch {
			case it.err == nil:
			case errors.Is(it.err, fs.ErrNotExist):
				res.Missing++
				if o.Missing != nil {
					o.Missing(MissingFile{Table: s.Table, Column: it.c.field.DBName, Key: it.key,
						Rendition: it.rendition, ID: it.id})
				}
			default:
				return fmt.Errorf("gormfile: check %s.%s id %v: %w", s.Table,
					it.c.field.DBName, it.id, it.err)
			}
		}
		return nil
	}
	return p.pageRows(ctx, db, s, pk, cols, o.BatchSize, page)
}

// modelColumns parses a model and returns its schema, file columns and primary key.
func (p *Plugin) modelColumns(db *gorm.DB, model any) (*schema.Schema, []*column,
	*schema.Field, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return nil, nil, nil, fmt.Errorf("gormfile: model %T: %w", model, err)
	}
	s := stmt.Schema
	cols, err := p.columns(s)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(s.PrimaryFields) != 1 {
		return nil, nil, nil, fmt.Errorf("gormfile: model %s: check and sweep need a "+
			"single-column primary key", s.Name)
	}
	return s, cols, s.PrimaryFields[0], nil
}

// pageRows reads a table's rows in primary-key order, batch rows at a time (keyset
// pagination, so that no page is read twice and none is skipped), soft-deleted rows
// included, and calls fn with each page's keys and file keys.
func (p *Plugin) pageRows(ctx context.Context, db *gorm.DB, s *schema.Schema, pk *schema.Field,
	cols []*column, batch int, fn func(ids []any, keys []map[string]string) error) error {
	names := []string{pk.DBName}
	for _, c := range cols {
		names = append(names, c.field.DBName)
	}
	var last any
	for {
		q := db.Session(&gorm.Session{NewDB: true, Context: ctx}).Table(s.Table).
			Select(names).Order(clause.OrderByColumn{Column: clause.Column{Name: pk.DBName}}).
			Limit(batch)
		if last != nil {
			q = q.Where(clause.Gt{Column: clause.Column{Name: pk.DBName}, Value: last})
		}
		rows, err := q.Rows()
		if err != nil {
			return fmt.Errorf("gormfile: reading %s: %w", s.Table, err)
		}
		var (
			ids  []any
			keys []map[string]string
		)
		for rows.Next() {
			id := reflect.New(pk.IndirectFieldType)
			vals := make([]any, len(names))
			ptrs := make([]any, len(names))
			ptrs[0] = id.Interface()
			for i := 1; i < len(names); i++ {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("gormfile: reading %s: %w", s.Table, err)
			}
			row := make(map[string]string, len(cols))
			for i := 1; i < len(names); i++ {
				row[names[i]] = keyString(vals[i])
			}
			ids = append(ids, id.Elem().Interface())
			keys = append(keys, row)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("gormfile: reading %s: %w", s.Table, err)
		}
		if len(ids) == 0 {
			return nil
		}
		if err := fn(ids, keys); err != nil {
			return err
		}
		if len(ids) < batch {
			return nil
		}
		last = ids[len(ids)-1]
	}
}

// keyString turns a scanned column value into a key.
func keyString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}
