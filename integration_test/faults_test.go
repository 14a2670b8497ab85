package integration_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile/storage"
)

// This file holds the fault injectors of the consistency tests: a storage that fails
// chosen calls, a client body that cancels the caller's context, and a database error
// raised after a row statement.

// errInjected is the error every injected storage fault returns (or wraps).
var errInjected = errors.New("injected storage fault")

// storage operations, as faultStore counts them.
const (
	opSave   = "save"
	opOpen   = "open"
	opStat   = "stat"
	opDelete = "delete"
	opURL    = "url"
	opList   = "list"
)

// storageFault makes calls of one operation fail.
type storageFault struct {
	op string
	// nth is the call of op, counted from when the fault was armed and starting at 1,
	// that fails; 0 fails every call.
	nth int
	// midStream, for a save, makes the call read this many bytes of the body before
	// failing, through the real storage; < 0 fails before the storage sees the call.
	midStream int64
	// last, for a save, makes the failing call wait until the saves that began before
	// it are over, so that it fails after its siblings have written their objects.
	last bool

	seen  int
	fired int
}

// faultStore wraps a storage, counts the calls of each operation and fails the ones
// its armed faults name. It is safe for concurrent use.
type faultStore struct {
	inner storage.Storage

	mu     sync.Mutex
	calls  map[string]int
	faults []*storageFault
	// saving counts the saves under way; cancelled counts the saves of the real
	// storage that failed because their context ended.
	saving    int
	cancelled int
}

var _ storage.Storage = (*faultStore)(nil)

func newFaultStore(inner storage.Storage) *faultStore {
	return &faultStore{inner: inner, calls: map[string]int{}}
}

// failNth arms a fault: the nth call of op from now fails (every call when nth is 0).
func (s *faultStore) failNth(op string, nth int) *storageFault {
	return s.arm(&storageFault{op: op, nth: nth, midStream: -1})
}

// failSaveAfterOthers arms a fault: the nth save from now fails once the saves under
// way have ended.
func (s *faultStore) failSaveAfterOthers(nth int) *storageFault {
	return s.arm(&storageFault{op: opSave, nth: nth, midStream: -1, last: true})
}

// failSaveMidStream arms a fault: the nth save from now reads n bytes of its body, then
// the body fails, so that the real storage sees a reader break half way.
func (s *faultStore) failSaveMidStream(nth int, n int64) *storageFault {
	return s.arm(&storageFault{op: opSave, nth: nth, midStream: n})
}

func (s *faultStore) arm(f *storageFault) *storageFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	return f
}

// heal disarms every fault.
func (s *faultStore) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// count returns how many calls of op the storage has had.
func (s *faultStore) count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// cancelledSaves returns how many saves failed because their context ended.
func (s *faultStore) cancelledSaves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

// timesFired returns how many calls f failed.
func (s *faultStore) timesFired(f *storageFault) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.fired
}

// enter counts a call of op and returns the fault that fails it, or nil.
func (s *faultStore) enter(op string) *storageFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	var hit *storageFault
	for _, f := range s.faults {
		if f.op != op {
			continue
		}
		f.seen++
		if hit == nil && (f.nth == 0 || f.seen == f.nth) {
			f.fired++
			hit = f
		}
	}
	return hit
}

func injected(op, key string) error {
	return &storage.Error{Backend: "fault", Op: op, Key: key, Err: errInjected}
}

// Save fails before the real storage sees the call, or hands the real storage a body
// that breaks after the fault's midStream bytes.
func (s *faultStore) Save(ctx context.Context, key string, r io.Reader,
	opts *storage.SaveOptions) (string, error) {
	f := s.enter(opSave)
	s.mu.Lock()
	s.saving++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.saving--
		s.mu.Unlock()
	}()
	switch {
	case f == nil:
		got, err := s.inner.Save(ctx, key, r, opts)
		if err != nil && ctx.Err() != nil {
			s.mu.Lock()
			s.cancelled++
			s.mu.Unlock()
		}
		return got, err
	case f.midStream < 0:
		if f.last {
			s.awaitOtherSaves()
		}
		return "", injected(opSave, key)
	}
	br := &breakingReader{r: r, left: f.midStream}
	got, err := s.inner.Save(ctx, key, br, opts)
	if err == nil {
		// The real storage stopped reading before the break: it never saw the fault,
		// so the object it wrote stands for an upload that must now be refused.
		if derr := s.inner.Delete(context.WithoutCancel(ctx), got); derr != nil {
			return "", fmt.Errorf("fault: save %s: removing %s: %w", key, got, derr)
		}
		return "", injected(opSave, key)
	}
	if !br.broke.Load() {
		return "", fmt.Errorf("fault: save %s: the storage failed before the break: %w", key,
			err)
	}
	return "", err
}

// awaitOtherSaves waits, for at most five seconds, until the calling save is the only
// one under way, so that a failing save of a batch fails after its siblings have
// written their objects, which must then be removed.
func (s *faultStore) awaitOtherSaves() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := s.saving
		s.mu.Unlock()
		if n <= 1 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// breakingReader reads left bytes of r, then fails with errInjected.
type breakingReader struct {
	r     io.Reader
	left  int64
	broke atomic.Bool
}

func (b *breakingReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.broke.Store(true)
		return 0, errInjected
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// Open implements storage.Storage.
func (s *faultStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if s.enter(opOpen) != nil {
		return nil, injected(opOpen, key)
	}
	return s.inner.Open(ctx, key)
}

// OpenRange implements storage.Storage; it counts as an open.
func (s *faultStore) OpenRange(ctx context.Context, key string, off, n int64) (io.ReadCloser,
	error) {
	if s.enter(opOpen) != nil {
		return nil, injected(opOpen, key)
	}
	return s.inner.OpenRange(ctx, key, off, n)
}

// Stat implements storage.Storage.
func (s *faultStore) Stat(ctx context.Context, key string) (*storage.Attributes, error) {
	if s.enter(opStat) != nil {
		return nil, injected(opStat, key)
	}
	return s.inner.Stat(ctx, key)
}

// Delete implements storage.Storage.
func (s *faultStore) Delete(ctx context.Context, key string) error {
	if s.enter(opDelete) != nil {
		return injected(opDelete, key)
	}
	return s.inner.Delete(ctx, key)
}

// URL implements storage.Storage.
func (s *faultStore) URL(ctx context.Context, key string, opts *storage.URLOptions) (string,
	error) {
	if s.enter(opURL) != nil {
		return "", injected(opURL, key)
	}
	return s.inner.URL(ctx, key, opts)
}

// List implements storage.Storage.
func (s *faultStore) List(ctx context.Context, prefix string,
	fn func(*storage.Attributes) error) error {
	if s.enter(opList) != nil {
		return injected(opList, prefix)
	}
	return s.inner.List(ctx, prefix, fn)
}

// cancelReader reads r and cancels the caller's context once after bytes were read,
// then goes on reading, as a client that hangs up half way through an upload.
type cancelReader struct {
	r      io.Reader
	after  int64
	cancel context.CancelFunc
	done   *atomic.Bool
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.after -= int64(n)
	if c.after <= 0 && c.done.CompareAndSwap(false, true) {
		c.cancel()
	}
	return n, err
}

// dbFaultKey is the context key of a *dbFault.
type dbFaultKey struct{}

// errDBFault is the error the injected database fault adds to a statement.
var errDBFault = errors.New("injected database fault")

// dbFault fails the nth create, update or delete statement that runs with its context,
// after the statement has written its rows and before its hooks and commit, as a
// trigger or a deferred constraint would.
type dbFault struct {
	nth   int
	seen  atomic.Int64
	fired atomic.Int64
}

// injectDBFaults registers, on db, the callbacks that raise dbFault.
func injectDBFaults(db *gorm.DB) error {
	fail := func(tx *gorm.DB) {
		f, ok := tx.Statement.Context.Value(dbFaultKey{}).(*dbFault)
		if !ok || tx.Error != nil {
			return
		}
		if f.seen.Add(1) == int64(f.nth) {
			f.fired.Add(1)
			tx.AddError(errDBFault)
		}
	}
	cb := db.Callback()
	return errors.Join(
		cb.Create().After("gorm:save_after_associations").Before("gorm:after_create").
			Register("test:db_fault", fail),
		cb.Update().After("gorm:save_after_associations").Before("gorm:after_update").
			Register("test:db_fault", fail),
		cb.Delete().After("gorm:delete").Before("gorm:after_delete").
			Register("test:db_fault", fail),
	)
}
