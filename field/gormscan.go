package field

import (
	"context"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// QueryClauses adds no clause. GORM calls it once for each File or Image field of a
// model it parses, before the model is used; File takes the moment to give the field
// a setter of its own, which copies a scanned value into the row and binds it (see
// [BindField]). GORM's own setter for a struct that implements sql.Scanner goes
// through reflection and an interface for each column of each row loaded.
func (File) QueryClauses(f *schema.Field) []clause.Interface {
	setScanned(f)
	return nil
}

// slots holds, for each field that has File's setter, the binding that the field's
// loaded values get. A field is held weakly: its entry goes when GORM drops the field.
var slots sync.Map // weak.Pointer[schema.Field] → *atomic.Pointer[Binding]

// BindField gives the values loaded into field f binding b as they are scanned, and
// reports whether it can: false when f is not a File or Image field that GORM parsed
// (a pointer to one, say), whose values must then be bound one by one. A field belongs
// to one *gorm.Config's schema cache, which holds one gormfile plugin, so one binding.
func BindField(f *schema.Field, b *Binding) bool {
	v, ok := slots.Load(weak.Make(f))
	if !ok {
		return false
	}
	v.(*atomic.Pointer[Binding]).Store(b)
	return true
}

// setScanned wraps f's setter: a scanned File or Image is copied into the row's field
// of the same type, with the field's binding; anything else goes to GORM's setter.
func setScanned(f *schema.Field) {
	set := f.Set
	if set == nil || f.FieldType != f.IndirectFieldType {
		return // a pointer field: GORM's setter handles nil
	}
	slot := new(atomic.Pointer[Binding])
	key := weak.Make(f)
	slots.Store(key, slot)
	runtime.AddCleanup(f, func(k weak.Pointer[schema.Field]) { slots.Delete(k) }, key)

	f.Set = func(ctx context.Context, row reflect.Value, v any) error {
		fv := f.ReflectValueOf(ctx, row)
		if !fv.CanAddr() {
			return set(ctx, row, v)
		}
		// GORM scans into a **File (or **Image) from the field's pool, into which
		// database/sql puts a new *File, or nil for NULL: an empty column, as ''.
		var src *File
		switch sv := v.(type) {
		case **File:
			if sv == nil {
				return set(ctx, row, v)
			}
			src = *sv
		case **Image:
			if sv == nil {
				return set(ctx, row, v)
			}
			if *sv != nil {
				src = &(*sv).File
			}
		default:
			return set(ctx, row, v)
		}
		var dst *File
		switch d := fv.Addr().Interface().(type) {
		case *File:
			dst = d
		case *Image:
			dst = &d.File
		default:
			return set(ctx, row, v)
		}
		b := slot.Load()
		if b == nil {
			b = dst.withoutUpload()
		}
		if src == nil {
			*dst = File{b: b}
		} else {
			*dst = File{key: src.key, b: b}
		}
		return nil
	}
}
