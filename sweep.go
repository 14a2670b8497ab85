package gormfile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

// SweptObject is an object [Plugin.Sweep] removed, or would remove with DryRun.
type SweptObject struct {
	Storage, Key string
	// Reason is "unreferenced" (no row names it and it is older than the grace period)
	// or "pending delete" (a recorded delete after commit that had not been done).
	Reason string
}

// SweepOptions tunes [Plugin.Sweep]. A nil *SweepOptions means the zero value.
type SweepOptions struct {
	// Grace is the age under which an unreferenced object is left alone, because its
	// row may still be on its way (an upload whose transaction has not committed);
	// 0 means one hour.
	Grace time.Duration
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
	// BatchSize is how many listed objects are looked up in the database at a time;
	// 0 means 500.
	BatchSize int
	// Removed is called for each object removed, or that would be with DryRun.
	Removed func(SweptObject)
	// Skipped is called for each file column whose objects cannot be swept, with why.
	Skipped func(table, column, reason string)
}

// SweepResult counts what [Plugin.Sweep] did.
type SweepResult struct {
	// Listed objects under the models' upload-to prefixes; Unreferenced among them were
	// named by no row and older than the grace period.
	Listed, Unreferenced int64
	// PendingDeletes recorded deletes were found and settled.
	PendingDeletes int64
	// Removed objects (0 with DryRun).
	Removed int64
}

// sweepArea is one listing: a storage and a key prefix, and the columns whose keys may
// fall under it.
type sweepArea struct {
	storage     storage.Storage
	storageName string
	prefix      string
	cols        []sweepColumn
	// renditions are the rendition names the area's columns declare.
	renditions map[string]bool
}

type sweepColumn struct {
	table, column, prefix string
}

// Sweep settles what a crash or a failing storage left behind: it retries the recorded
// deletes that were not done, then lists the objects under each file column's
// upload-to prefix and removes those that no row of any of the models names and that
// are older than the grace period. Columns whose models compute keys in Go
// ([field.UploadToer]) or whose upload-to is empty are skipped: their objects could
// share a prefix with objects that are not theirs. Listings and tables are read page
// by page.
func (p *Plugin) Sweep(ctx context.Context, db *gorm.DB, models []any,
	opts *SweepOptions) (*SweepResult, error) {
	o := SweepOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	res := &SweepResult{}
	if err := p.Flush(ctx); err != nil {
		return res, fmt.Errorf("gormfile: forgetting done deletes: %w", err)
	}
	if err := p.sweepPending(ctx, db, &o, res); err != nil {
		return res, err
	}
	areas, err := p.sweepAreas(db, models, &o)
	if err != nil {
		return res, err
	}
	cutoff := time.Now().Add(-o.Grace)
	for _, a := range areas {
		var batch []*storage.Attributes
		flush := func() error {
			err := p.sweepBatch(ctx, db, a, batch, &o, res)
			batch = batch[:0]
			return err
		}
		err := a.storage.List(ctx, a.prefix, func(attr *storage.Attributes) error {
			res.Listed++
			if attr.ModTime.After(cutoff) {
				return nil
			}
			batch = append(batch, attr)
			if len(batch) >= o.BatchSize {
				return flush()
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = flush()
		}
		if err != nil {
			return res, fmt.Errorf("gormfile: sweep %s %q: %w", a.storageName, a.prefix, err)
		}
	}
	return res, nil
}

// sweepPending settles the recorded deletes, oldest first, a page at a time.
func (p *Plugin) sweepPending(ctx context.Context, db *gorm.DB, o *SweepOptions,
	res *SweepResult) error {
	var last uint64
	for {
		var recs []PendingDelete
		err := db.Session(&gorm.Session{NewDB: true, Context: ctx}).
			Where("id > ?", last).Order("id").Limit(o.BatchSize).Find(&recs).Error
		if err != nil {
			return fmt.Errorf("gormfile: reading pending deletes: %w", err)
		}
		var done []uint64
		for _, r := range recs {
			last = r.ID
			st := p.storages[r.Storage]
			if st == nil {
				continue // a storage this program does not have; another may
			}
			res.PendingDeletes++
			ref := objectRef{storage: st, storageName: r.Storage, key: r.Key, table: r.Table,
				column: r.Column, owner: r.Owner}
			used, err := p.referenced(ctx, ref)
			if err != nil {
				return fmt.Errorf("gormfile: pending delete %s %s: %w", r.Storage, r.Key, err)
			}
			if !used {
				if o.Removed != nil {
					o.Removed(SweptObject{Storage: r.Storage, Key: r.Key, Reason: "pending delete"})
				}
				if o.DryRun {
					continue
				}
				if err := st.Delete(ctx, r.Key); err != nil {
					return fmt.Errorf("gormfile: pending delete: %w", err)
				}
				res.Removed++
			}
			if !o.DryRun {
				done = append(done, r.ID)
			}
		}
		if err := p.forget(ctx, done); err != nil {
			return fmt.Errorf("gormfile: forgetting pending deletes: %w", err)
		}
		if len(recs) < o.BatchSize {
			return nil
		}
	}
}

// sweepAreas groups the models' file columns into listings, one per storage and
// prefix, a prefix inside another listed one being covered by it.
func (p *Plugin) sweepAreas(db *gorm.DB, models []any, o *SweepOptions) ([]*sweepArea, error) {
	var all []sweepColumn
	storageOf := map[sweepColumn]string{}
	renditionsOf := map[sweepColumn][]string{}
	for _, m := range models {
		s, cols, _, err := p.modelColumns(db, m)
		if err != nil {
			return nil, err
		}
		_, computes := reflectNew(s.ModelType).(interface {
			UploadTo(field, filename string) (string, error)
		})
		for _, c := range cols {
			reason := ""
			prefix := staticPrefix(c.settings.UploadTo)
			switch {
			case computes:
				reason = "the model computes its keys in Go (UploadTo)"
			case prefix == "":
				reason = "upload_to has no fixed directory"
			}
			if reason != "" {
				if o.Skipped != nil {
					o.Skipped(s.Table, c.field.DBName, reason)
				}
				continue
			}
			sc := sweepColumn{table: s.Table, column: c.field.DBName, prefix: prefix}
			all = append(all, sc)
			storageOf[sc] = c.settings.Storage
			for _, r := range c.settings.Renditions {
				renditionsOf[sc] = append(renditionsOf[sc], r.Name)
			}
		}
	}
	slices.SortFunc(all, func(a, b sweepColumn) int { return strings.Compare(a.prefix, b.prefix) })
	var areas []*sweepArea
	for _, sc := range all {
		name := storageOf[sc]
		var home *sweepArea
		for _, a := range areas {
			if a.storageName == name && strings.HasPrefix(sc.prefix, a.prefix) {
				home = a
				break
			}
		}
		if home == nil {
			home = &sweepArea{storage: p.storages[name], storageName: name, prefix: sc.prefix,
				renditions: map[string]bool{}}
			areas = append(areas, home)
		}
		home.cols = append(home.cols, sc)
		for _, r := range renditionsOf[sc] {
			home.renditions[r] = true
		}
	}
	// A column whose prefix covers another area's listing must be asked about that
	// area's keys too; areas are disjoint, so only same-storage columns matter.
	for _, a := range areas {
		for _, b := range areas {
			if a == b || a.storageName != b.storageName {
				continue
			}
			for _, sc := range b.cols {
				if strings.HasPrefix(a.prefix, sc.prefix) && !slices.Contains(a.cols, sc) {
					a.cols = append(a.cols, sc)
					for _, r := range renditionsOf[sc] {
						a.renditions[r] = true
					}
				}
			}
		}
	}
	return areas, nil
}

// staticPrefix is the directory part of an upload-to path before any date pattern,
// with a trailing slash: "docs/%Y/%m" gives "docs/", "devicetype-images" gives
// "devicetype-images/".
func staticPrefix(uploadTo string) string {
	if i := strings.IndexByte(uploadTo, '%'); i >= 0 {
		uploadTo = uploadTo[:i]
		uploadTo = uploadTo[:strings.LastIndexByte(uploadTo, '/')+1]
	}
	clean, err := storage.CleanLocation(uploadTo)
	if err != nil || clean == "" {
		return ""
	}
	return clean + "/"
}

// sweepBatch removes the objects of batch that no column of the area names.
func (p *Plugin) sweepBatch(ctx context.Context, db *gorm.DB, a *sweepArea,
	batch []*storage.Attributes, o *SweepOptions, res *SweepResult) error {
	if len(batch) == 0 {
		return nil
	}
	keys := make([]string, len(batch))
	lookup := make([]string, 0, len(batch))
	owner := map[string]string{}
	for i, attr := range batch {
		keys[i] = attr.Key
		lookup = append(lookup, attr.Key)
		if o, ok := a.renditionOwner(attr.Key); ok {
			owner[attr.Key] = o
			lookup = append(lookup, o)
		}
	}
	used := map[string]bool{}
	for _, sc := range a.cols {
		var found []string
		err := db.Session(&gorm.Session{NewDB: true, Context: ctx}).Table(sc.table).
			Where(clause.IN{Column: clause.Column{Name: sc.column}, Values: anySlice(lookup)}).
			Pluck(sc.column, &found).Error
		if err != nil {
			return fmt.Errorf("reading %s.%s: %w", sc.table, sc.column, err)
		}
		for _, k := range found {
			used[k] = true
		}
	}
	for _, k := range keys {
		if o, ok := owner[k]; used[k] || (ok && used[o]) {
			continue
		}
		res.Unreferenced++
		if o.Removed != nil {
			o.Removed(SweptObject{Storage: a.storageName, Key: k, Reason: "unreferenced"})
		}
		if o.DryRun {
			continue
		}
		if err := a.storage.Delete(ctx, k); err != nil {
			return err
		}
		res.Removed++
	}
	return nil
}

// renditionOwner returns the key of the image whose rendition key is, when key has the
// form of a rendition the area's columns declare.
func (a *sweepArea) renditionOwner(key string) (string, bool) {
	for name := range a.renditions {
		for _, ext := range []string{".png", ".jpg"} {
			suffix := "@" + name + ext
			if o, ok := strings.CutSuffix(key, suffix); ok && o != "" &&
				field.RenditionKey(o, name) == key {
				return o, true
			}
		}
	}
	return "", false
}

func anySlice(keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}
