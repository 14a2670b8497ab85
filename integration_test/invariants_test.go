package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

// A case of the consistency matrix: a fresh database and storage, the fault injectors,
// and the assertions of the invariants after the run.

// bodySize is the size of every uploaded body; faults strike a third of the way in.
const bodySize = 3000

// body is the content uploaded under a client file name.
func body(client string) []byte {
	b := make([]byte, 0, bodySize+len(client)+1)
	for len(b) < bodySize {
		b = append(b, client...)
		b = append(b, '\n')
	}
	return b[:bodySize]
}

// mcase is one run of one path under one fault on one database and storage.
type mcase struct {
	t      *testing.T
	db     *gorm.DB
	store  *faultStore
	plugin *gormfile.Plugin

	// ctx is the context the path runs with; it carries the database fault.
	ctx    context.Context
	cancel context.CancelFunc
	dbf    *dbFault

	// running is set while the path runs: the body of the cancelAt-th file made then
	// cancels ctx.
	running   bool
	made      int
	cancelAt  int
	cancelled atomic.Bool

	cleanupErrs atomic.Int64
}

// newCase opens a fresh database and storage of cb.
func newCase(t *testing.T, cb combo) *mcase {
	db := cb.newDB(t)
	inner, _ := cb.newSt(t)
	c := &mcase{t: t, db: db, store: newFaultStore(inner)}
	c.plugin = gormfile.New(c.store, &gormfile.Options{
		OnCleanupError: func(context.Context, storage.Storage, string, error) { c.cleanupErrs.Add(1) },
	})
	if err := db.Use(c.plugin); err != nil {
		t.Fatal(err)
	}
	if err := injectDBFaults(db); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(matrixModels...); err != nil {
		t.Fatal(err)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	t.Cleanup(c.cancel)
	return c
}

// file returns new content for a file column, its body made from the client name.
func (c *mcase) file(client string) field.File {
	var r io.Reader = bytes.NewReader(body(client))
	if c.running {
		c.made++
		if c.made == c.cancelAt {
			r = &cancelReader{r: r, after: bodySize / 3, cancel: c.cancel, done: &c.cancelled}
		}
	}
	return field.NewFile(r, client)
}

// snapshot renders every row of the matrix's tables and of the pending-deletes table.
func (c *mcase) snapshot() string {
	c.t.Helper()
	var b strings.Builder
	tables := []string{"items", "notes", "folders", "attachments",
		gormfile.PendingDelete{}.TableName()}
	for _, table := range tables {
		var rows []map[string]any
		if err := c.db.Table(table).Order("id").Find(&rows).Error; err != nil {
			c.t.Fatalf("snapshot of %s: %v", table, err)
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "%s:", table)
			for _, k := range slices.Sorted(maps.Keys(r)) {
				if k != "created_at" {
					fmt.Fprintf(&b, " %s=%v", k, r[k])
				}
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// pending counts the recorded deletes.
func (c *mcase) pending() int64 {
	c.t.Helper()
	var n int64
	if err := c.db.Model(&gormfile.PendingDelete{}).Count(&n).Error; err != nil {
		c.t.Fatal(err)
	}
	return n
}

// referenced returns the keys the rows name, soft-deleted rows included.
func (c *mcase) referenced() map[string]bool {
	c.t.Helper()
	keys := map[string]bool{}
	for _, table := range fileColumns {
		var got []string
		if err := c.db.Table(table).Where("file <> ''").Pluck("file", &got).Error; err != nil {
			c.t.Fatalf("reading %s: %v", table, err)
		}
		for _, k := range got {
			keys[k] = true
		}
	}
	return keys
}

// invariants asserts the two invariants with the storage working again; orphansOK
// allows objects no row names before the sweep.
func (c *mcase) invariants(orphansOK bool) {
	t := c.t
	t.Helper()
	c.store.heal()
	ctx := context.Background()

	// (a) Every row's key names an object.
	refs := c.referenced()
	c.wantNoMissing(ctx, refs, "before the sweep")

	// (b) Objects no row names are gone, or the sweep removes them.
	objs := objects(t, c.store.inner)
	var orphans []string
	for _, k := range objs {
		if !refs[k] {
			orphans = append(orphans, k)
		}
	}
	// The plugin forgets done deletes in batches; Flush forgets them now, so that the
	// records left are deletes not done.
	if err := c.plugin.Flush(ctx); err != nil {
		t.Errorf("flush: %v", err)
	}
	if pend := c.pending(); !orphansOK && (len(orphans) > 0 || pend > 0) {
		t.Errorf("before the sweep: objects no row names %v, %d recorded deletes", orphans,
			pend)
	}
	removed := map[string]bool{}
	var mu sync.Mutex
	_, err := c.plugin.Sweep(ctx, c.db, fileModels, &gormfile.SweepOptions{
		Grace: time.Nanosecond,
		Removed: func(o gormfile.SweptObject) {
			mu.Lock()
			removed[o.Key] = true
			mu.Unlock()
		},
	})
	if err != nil {
		t.Errorf("sweep: %v", err)
	}
	for _, k := range orphans {
		if !removed[k] {
			t.Errorf("the sweep did not find %s, which no row names", k)
		}
	}
	after := objects(t, c.store.inner)
	if want := slices.Sorted(maps.Keys(refs)); !slices.Equal(after, want) {
		t.Errorf("after the sweep: objects %v, rows name %v", after, want)
	}
	if n := c.pending(); n != 0 {
		t.Errorf("after the sweep: %d recorded deletes left", n)
	}
	c.wantNoMissing(ctx, c.referenced(), "after the sweep")
}

// wantNoMissing asserts that every key in refs names an object, asking the storage
// directly and through Plugin.Check.
func (c *mcase) wantNoMissing(ctx context.Context, refs map[string]bool, when string) {
	t := c.t
	t.Helper()
	for k := range refs {
		if !exists(t, c.store.inner, k) {
			t.Errorf("%s: a row names %s, which is missing", when, k)
		}
	}
	res, err := c.plugin.Check(ctx, c.db, fileModels, &gormfile.CheckOptions{
		Missing: func(m gormfile.MissingFile) {
			t.Errorf("%s: check: %s.%s id %v names missing %s", when, m.Table, m.Column,
				m.ID, m.Key)
		},
	})
	if err != nil {
		t.Errorf("%s: check: %v", when, err)
	} else if res.Files != int64(countKeys(c.db, t)) {
		t.Errorf("%s: check read %d files, rows hold %d", when, res.Files, countKeys(c.db, t))
	}
}

// countKeys counts the non-empty keys of every row.
func countKeys(db *gorm.DB, t *testing.T) int {
	t.Helper()
	total := 0
	for _, table := range fileColumns {
		var n int64
		if err := db.Table(table).Where("file <> ''").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		total += int(n)
	}
	return total
}
