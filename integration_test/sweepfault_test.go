package integration_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gormfile/gormfile"
)

// A delete that fails after the commit stays recorded until a sweep does it; a sweep
// or a check that meets a failing storage reports it, changes nothing it could not
// finish, and the next run completes.
func TestSweepAndCheckUnderFaults(t *testing.T) {
	ctx := context.Background()
	sweep := &gormfile.SweepOptions{Grace: time.Nanosecond}
	for _, cb := range combos() {
		t.Run(cb.name, func(t *testing.T) {
			c := newCase(t, cb)
			a := c.mkItem("a", "a.bin")
			c.mkItem("b", "b.bin")
			c.mkNote("n", "n.txt")
			// An object no row names, as a crash between upload and insert leaves.
			_, err := c.store.inner.Save(ctx, "items/crash.bin",
				bytes.NewReader(body("crash.bin")), nil)
			if err != nil {
				t.Fatal(err)
			}

			// Listing fails: the sweep reports it and removes nothing.
			c.store.failNth(opList, 0)
			if _, err := c.plugin.Sweep(ctx, c.db, fileModels, sweep); !errors.Is(err,
				errInjected) {
				t.Errorf("sweep with failing listing: %v, want the injected fault", err)
			}
			c.store.heal()
			if !exists(t, c.store.inner, "items/crash.bin") {
				t.Error("a failed sweep removed an object")
			}

			// Check meets a failing Stat: an error, not a missing file.
			c.store.failNth(opStat, 0)
			missing := 0
			_, err = c.plugin.Check(ctx, c.db, fileModels, &gormfile.CheckOptions{
				Missing: func(gormfile.MissingFile) { missing++ },
			})
			if !errors.Is(err, errInjected) || missing != 0 {
				t.Errorf("check with failing stats: %v, %d missing", err, missing)
			}
			c.store.heal()

			// The delete after commit fails: the record stays, and a sweep that meets
			// the failing storage stops with the error and keeps it.
			c.store.failNth(opDelete, 0)
			if err := c.db.Delete(a).Error; err != nil {
				t.Fatal(err)
			}
			if n := c.pending(); n != 1 {
				t.Fatalf("%d recorded deletes, want 1", n)
			}
			if _, err := c.plugin.Sweep(ctx, c.db, fileModels, sweep); !errors.Is(err,
				errInjected) {
				t.Errorf("sweep with failing deletes: %v, want the injected fault", err)
			}
			if n := c.pending(); n != 1 {
				t.Errorf("after a failed sweep: %d recorded deletes, want 1", n)
			}
			c.store.heal()

			// Working again, the sweep finishes the job.
			res, err := c.plugin.Sweep(ctx, c.db, fileModels, sweep)
			if err != nil {
				t.Fatal(err)
			}
			if res.PendingDeletes != 1 || res.Unreferenced != 1 || res.Removed != 2 {
				t.Errorf("sweep: %+v, want 1 pending delete and 1 unreferenced removed", res)
			}
			c.invariants(false)
			c.wantItem("b", "b.bin")
		})
	}
}
