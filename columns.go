package gormfile

import (
	"context"
	"fmt"
	"reflect"

	"gorm.io/gorm/schema"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

var (
	fileType  = reflect.TypeOf(field.File{})
	imageType = reflect.TypeOf(field.Image{})
)

// column is one file column of a model, with its settings and storage resolved.
type column struct {
	field    *schema.Field
	settings *field.Settings
	storage  storage.Storage
	// binding is shared by every value of the column.
	binding *field.Binding
	image   bool
	// scanBound is set when loaded values get the binding as they are scanned, and
	// need not be bound one by one after a query.
	scanBound bool
	// width and height receive an image's dimensions; nil when the tag names none.
	width, height *schema.Field
}

// fieldFile is what *field.File and *field.Image have in common.
type fieldFile interface {
	Save(ctx context.Context, sc *field.SaveContext) error
	Pending() bool
	Key() string
	RenditionKeys() []string
	ContentID() any
	Bind(b *field.Binding)
}

var (
	_ fieldFile = (*field.File)(nil)
	_ fieldFile = (*field.Image)(nil)
)

// columns returns the file columns of a model, reading their tags once per schema,
// and those of the models it relates to, whose values a query may load with its own
// (Joins).
func (p *Plugin) columns(s *schema.Schema) ([]*column, error) {
	if cached, ok := p.schemas.Load(s); ok {
		c := cached.(schemaColumns)
		return c.cols, c.err
	}
	cols, err := p.readColumns(s)
	p.schemas.Store(s, schemaColumns{cols, err})
	p.readRelated(s, map[*schema.Schema]bool{s: true})
	return cols, err
}

// readRelated reads the file columns of the models s relates to, directly or not.
func (p *Plugin) readRelated(s *schema.Schema, seen map[*schema.Schema]bool) {
	for _, rel := range s.Relationships.Relations {
		fs := rel.FieldSchema
		if fs == nil || seen[fs] {
			continue
		}
		seen[fs] = true
		if _, ok := p.schemas.Load(fs); !ok {
			cols, err := p.readColumns(fs)
			p.schemas.Store(fs, schemaColumns{cols, err})
		}
		p.readRelated(fs, seen)
	}
}

type schemaColumns struct {
	cols []*column
	err  error
}

func (p *Plugin) readColumns(s *schema.Schema) ([]*column, error) {
	var cols []*column
	for _, f := range s.Fields {
		if f.FieldType != fileType && f.FieldType != imageType {
			continue
		}
		if f.DBName == "" {
			continue
		}
		settings, err := field.ResolveSettings(reflect.New(s.ModelType).Interface(), f.Name,
			f.Tag.Get("file"), f.Size)
		if err != nil {
			return nil, fmt.Errorf("gormfile: %s.%s: %w", s.Name, f.Name, err)
		}
		if f.FieldType == fileType && imageOnly(settings) {
			return nil, fmt.Errorf("gormfile: %s.%s: renditions and image rules (max_bytes, "+
				"min/max width and height) are only for field.Image", s.Name, f.Name)
		}
		st, ok := p.storages[settings.Storage]
		if !ok {
			return nil, fmt.Errorf("gormfile: %s.%s: no storage named %q", s.Name, f.Name,
				settings.Storage)
		}
		c := &column{field: f, settings: settings, storage: st, image: f.FieldType == imageType,
			binding: &field.Binding{Storage: st, Settings: settings}}
		c.scanBound = field.BindField(f, c.binding)
		if c.width, err = sizeField(s, f, "width_field", settings.WidthField); err != nil {
			return nil, err
		}
		if c.height, err = sizeField(s, f, "height_field", settings.HeightField); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	p.warnUnindexed(s, cols)
	return cols, nil
}

// warnUnindexed logs, once per model, the file columns its model declares no index on.
// Before deleting an object that a change leaves behind, the plugin checks that no other
// row of the column names its key; without an index that check reads the whole table.
func (p *Plugin) warnUnindexed(s *schema.Schema, cols []*column) {
	if p.db == nil || len(cols) == 0 {
		return
	}
	indexed := map[*schema.Field]bool{}
	for _, idx := range s.ParseIndexes() {
		if len(idx.Fields) > 0 {
			indexed[idx.Fields[0].Field] = true
		}
	}
	for _, c := range cols {
		if !indexed[c.field] && !c.field.PrimaryKey {
			p.db.Logger.Warn(context.Background(), "gormfile: %s.%s has no index in its "+
				"model: each delete or replacement of a file reads the whole table to check "+
				"that no other row names the old key; add `gorm:\"index\"` to the field",
				s.Table, c.field.DBName)
		}
	}
}

// imageOnly reports whether settings hold what only an Image column honours.
func imageOnly(s *field.Settings) bool {
	return len(s.Renditions) > 0 || s.MaxBytes > 0 || s.MinWidth > 0 || s.MaxWidth > 0 ||
		s.MinHeight > 0 || s.MaxHeight > 0
}

func sizeField(s *schema.Schema, f *schema.Field, setting, name string) (*schema.Field, error) {
	if name == "" {
		return nil, nil
	}
	if f.FieldType != imageType {
		return nil, fmt.Errorf("gormfile: %s.%s: %s is only for field.Image", s.Name, f.Name,
			setting)
	}
	sf := s.LookUpField(name)
	if sf == nil {
		return nil, fmt.Errorf("gormfile: %s.%s: %s: no field %q", s.Name, f.Name, setting, name)
	}
	return sf, nil
}

// fileOf returns the column's value in row (an addressable struct) as a fieldFile.
func (c *column) fileOf(ctx context.Context, row reflect.Value) (fieldFile, bool) {
	v := c.field.ReflectValueOf(ctx, row)
	if !v.CanAddr() {
		return nil, false
	}
	ff, ok := v.Addr().Interface().(fieldFile)
	return ff, ok
}

// eachRow calls fn for each addressable struct in v: a struct, a pointer to one, or a
// slice or array of either.
func eachRow(v reflect.Value, fn func(row reflect.Value) error) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		return fn(v)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := eachRow(v.Index(i), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// reflectNew returns a pointer to a new zero value of t.
func reflectNew(t reflect.Type) any { return reflect.New(t).Interface() }
