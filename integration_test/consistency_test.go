package integration_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
)

// The consistency matrix runs every write path GORM offers (matrix_test.go) under every
// point of failure that applies to it, on every database and storage, and after each
// run asserts the plugin's two invariants:
//
//   - every row's non-empty key names an existing object, and
//   - every object that no row names is either removed already or removed by a sweep,
//     after which the storage holds exactly the objects rows name and no recorded
//     delete is left.
//
// A run that fails must leave the rows as they were; a run that succeeds must leave
// the rows its path promises.

// fault is a point of failure of the matrix.
type fault int

const (
	fNone         fault = iota
	fInTx               // the path inside the caller's db.Transaction, which commits
	fSaveFirst          // the first storage Save fails at once, its siblings under way
	fSaveLast           // the path's last Save (its Nth, N >= 2) fails after the others
	fSaveMid            // the first Save fails after reading a third of its body
	fCleanup            // the last Save fails and every Delete fails: compensation fails
	fCancel             // the caller's context is cancelled while the last body is read
	fDBError            // a database error after the path's last row statement
	fDBConstraint       // a constraint violation after the upload
	fDBCommit           // fDBError inside the caller's transaction, which commits anyway
	fDeleteFail         // every storage Delete fails after the commit
	fPanic              // the caller's transaction function panics after the path
	fRollback           // the caller's transaction function returns an error after it
	numFaults
)

var faultNames = [numFaults]string{"none", "in-tx", "save-first", "save-last", "save-mid",
	"cleanup-fails", "ctx-cancel", "db-error", "db-constraint", "db-error-commit",
	"delete-fails", "panic", "rollback"}

func (f fault) String() string { return faultNames[f] }

// failing reports whether the path must fail under f (unless it absorbs the fault).
func (f fault) failing() bool {
	switch f {
	case fNone, fInTx, fDeleteFail, fDBCommit:
		return false
	}
	return true
}

// wraps reports whether f runs the path inside the caller's transaction.
func (f fault) wraps() bool {
	return f == fInTx || f == fDBCommit || f == fPanic || f == fRollback
}

// orphansOK reports whether objects no row names may be left for the sweep under f:
// deletes that failed, a compensation that failed, a statement error committed anyway.
func (f fault) orphansOK() bool {
	return f == fDeleteFail || f == fCleanup || f == fDBCommit
}

// mpath is one write path of the matrix.
type mpath struct {
	name string
	// uploads is how many storage Saves the path makes; stmts how many create, update
	// and delete statements it runs (the database fault strikes the last).
	uploads, stmts int
	// deletes: the path leaves an object that no row names, deleted after the commit.
	deletes bool
	// noWrap: the path begins its own transaction, so it cannot run inside the caller's.
	noWrap bool
	// absorbs are the failing faults after which the path still succeeds (a nested
	// transaction that rolls back on its own).
	absorbs []fault
	// leaks are the faults after which the path may leave objects no row names for
	// the sweep: known limits of the plugin, which the sweep must make up for.
	leaks []fault

	setup func(c *mcase)
	run   func(c *mcase, db *gorm.DB) error
	// dup runs the path so that it violates a constraint of the database after its
	// uploads.
	dup   func(c *mcase, db *gorm.DB) error
	check func(c *mcase)
}

// applies reports whether the matrix runs p under f.
func (p *mpath) applies(f fault) bool {
	switch {
	case f.wraps() && p.noWrap:
		return false
	case f == fSaveFirst || f == fSaveMid || f == fCancel:
		return p.uploads >= 1
	case f == fSaveLast || f == fCleanup:
		return p.uploads >= 2
	case f == fDBConstraint:
		return p.dup != nil
	case f == fDeleteFail:
		return p.deletes
	}
	return true
}

var (
	errRollback = errors.New("caller rolls back")
	errPanic    = errors.New("caller panics")
)

// perform runs the path under f and returns its error, a recovered panic included;
// stmtErr is the error a committed-anyway statement returned.
func (c *mcase) perform(p *mpath, f fault) (err, stmtErr error) {
	db := c.db.WithContext(c.ctx)
	run := p.run
	if f == fDBConstraint {
		run = p.dup
	}
	switch f {
	case fInTx:
		err = db.Transaction(func(tx *gorm.DB) error { return run(c, tx) })
	case fDBCommit:
		err = db.Transaction(func(tx *gorm.DB) error {
			stmtErr = run(c, tx)
			return nil
		})
	case fRollback:
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := run(c, tx); err != nil {
				return err
			}
			return errRollback
		})
	case fPanic:
		func() {
			defer func() {
				if r := recover(); r != nil {
					if r != errPanic {
						panic(r)
					}
					err = errPanic
				}
			}()
			err = db.Transaction(func(tx *gorm.DB) error {
				if err := run(c, tx); err != nil {
					return err
				}
				panic(errPanic)
			})
		}()
	default:
		err = run(c, db)
	}
	return err, stmtErr
}

// runCase runs p under f on a fresh database and storage of cb and checks the outcome
// and the invariants.
func runCase(t *testing.T, cb combo, p *mpath, f fault) {
	c := newCase(t, cb)
	c.mkItem("taken", "taken.bin")
	if p.setup != nil {
		p.setup(c)
	}
	if err := c.plugin.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.pending(); n != 0 {
		t.Fatalf("setup left %d recorded deletes", n)
	}
	before := c.snapshot()

	var sfs []*storageFault
	switch f {
	case fSaveFirst:
		sfs = append(sfs, c.store.failNth(opSave, 1))
	case fSaveLast:
		sfs = append(sfs, c.store.failSaveAfterOthers(p.uploads))
	case fSaveMid:
		sfs = append(sfs, c.store.failSaveMidStream(1, bodySize/3))
	case fCleanup:
		sfs = append(sfs, c.store.failSaveAfterOthers(p.uploads), c.store.failNth(opDelete, 0))
	case fDeleteFail:
		sfs = append(sfs, c.store.failNth(opDelete, 0))
	case fCancel:
		c.cancelAt = p.uploads
	case fDBError, fDBCommit:
		c.dbf = &dbFault{nth: max(p.stmts, 1)}
		c.ctx = context.WithValue(c.ctx, dbFaultKey{}, c.dbf)
	}
	c.running = true
	err, stmtErr := c.perform(p, f)
	c.running = false
	pendingAfter := c.pending()

	for _, sf := range sfs {
		if c.store.timesFired(sf) == 0 {
			t.Errorf("the %s fault never fired (%d %s calls)", sf.op, c.store.count(sf.op),
				sf.op)
		}
	}
	if n := c.store.cancelledSaves(); n > 0 && f != fCancel {
		// A cancelled S3 request may still write its object, which nothing removes.
		t.Errorf("%d uploads under way were cancelled", n)
	}
	switch {
	case f == fCancel && !c.cancelled.Load():
		t.Error("the context was never cancelled")
	case c.dbf != nil && c.dbf.fired.Load() != 1:
		t.Errorf("the database fault fired %d times (%d statements)", c.dbf.fired.Load(),
			c.dbf.seen.Load())
	}

	switch {
	case f == fDBCommit:
		if !slices.Contains(p.absorbs, f) && !errors.Is(stmtErr, errDBFault) {
			t.Errorf("statement error %v, want the database fault", stmtErr)
		}
		if err != nil {
			t.Errorf("commit: %v", err)
		}
	case !f.failing():
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		p.check(c)
		if f == fDeleteFail {
			if pendingAfter == 0 {
				t.Error("a failed delete after commit left no record")
			}
			if c.cleanupErrs.Load() == 0 {
				t.Error("OnCleanupError was not told of the failed delete")
			}
		}
	case err == nil && slices.Contains(p.absorbs, f):
		p.check(c)
	case err == nil:
		t.Errorf("%s succeeded under %s", p.name, f)
	default:
		if want := wantError(f); want != nil && !errors.Is(err, want) {
			t.Errorf("error %v, want %v", err, want)
		}
		if after := c.snapshot(); after != before {
			t.Errorf("the failed path changed the rows:\nbefore:\n%safter:\n%s", before, after)
		}
	}
	// A cancelled S3 request may have written its object all the same.
	cancelledS3 := f == fCancel && strings.HasSuffix(cb.name, "/s3")
	c.invariants(f.orphansOK() || cancelledS3 || slices.Contains(p.leaks, f))
}

// wantError is the error a path fails with under f, nil when any error will do.
func wantError(f fault) error {
	switch f {
	case fSaveFirst, fSaveLast, fSaveMid, fCleanup:
		return errInjected
	case fDBError:
		return errDBFault
	case fPanic:
		return errPanic
	case fRollback:
		return errRollback
	}
	return nil
}

// matrixWorkers is how many cases run at once, across environments: most of a case's
// time is spent waiting for the database and the S3 server.
const matrixWorkers = 8

func TestConsistencyMatrix(t *testing.T) {
	paths := matrixPaths()
	cases := 0
	for _, p := range paths {
		for f := range numFaults {
			if p.applies(f) {
				cases++
			}
		}
	}
	envs := combos()
	t.Logf("matrix: %d paths × %d faults: %d cases × %d environments = %d runs",
		len(paths), numFaults, cases, len(envs), cases*len(envs))
	if os.Getenv("MATRIX_TABLE") != "" {
		t.Log("\n" + matrixTable(paths))
	}

	sem := make(chan struct{}, matrixWorkers)
	var envWG sync.WaitGroup
	for _, cb := range envs {
		envWG.Add(1)
		go func() {
			defer envWG.Done()
			t.Run(cb.name, func(t *testing.T) {
				var wg sync.WaitGroup
				for _, p := range paths {
					for f := range numFaults {
						if !p.applies(f) {
							continue
						}
						sem <- struct{}{}
						wg.Add(1)
						go func() {
							defer func() { <-sem; wg.Done() }()
							t.Run(p.name+":"+f.String(), func(t *testing.T) {
								runCase(t, cb, p, f)
							})
						}()
					}
				}
				wg.Wait()
			})
		}()
	}
	envWG.Wait()
}

// matrixTable renders which faults apply to which paths, as a Markdown table.
func matrixTable(paths []*mpath) string {
	var b strings.Builder
	b.WriteString("| path |")
	for f := range numFaults {
		b.WriteString(" " + f.String() + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", int(numFaults)) + "\n")
	for _, p := range paths {
		b.WriteString("| " + p.name + " |")
		for f := range numFaults {
			if p.applies(f) {
				b.WriteString(" x |")
			} else {
				b.WriteString("   |")
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
