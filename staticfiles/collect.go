// Package staticfiles publishes a tree of static assets (CSS, JavaScript, fonts,
// images) to a storage, as Django's collectstatic does, and quickly.
//
// # What is copied
//
// [Collect] walks its sources, lists the destination once, and uploads only the files
// whose content is not there yet. It compares sizes first, then content digests, never
// modification times, so clock skew and time zones do not matter and a file changed
// with its modification time kept is still published:
//
//   - an object with a "sha256" metadata entry is compared by SHA-256; Collect stores
//     that entry on every object it uploads;
//   - otherwise an entity tag that is an MD5 digest (S3 objects written in one request)
//     is compared by MD5;
//   - a multipart S3 object, whose entity tag is no digest, is asked for its metadata
//     with [storage.Storage.Stat];
//   - a storage that implements [storage.Hasher] (the filesystem) is asked for the
//     object's MD5 digest;
//   - any other object is uploaded again.
//
// # Keys
//
// Keys are the files' paths relative to their source, with "/" separators, under the
// storage's own location. When two sources hold the same relative path, the first
// source wins, as with Django's finders.
//
// # Manifest
//
// With Options.Manifest, Collect also publishes each file under a name that holds a
// digest of its content, stylesheets' references rewritten to such names, and a
// manifest of the names in the form of Django's staticfiles.json; [LoadManifest] reads
// it back and [Manifest.URL] gives the address of a file's hashed copy.
//
// # Failures
//
// Comparisons and uploads run concurrently, while the destination is still being
// listed, each upload streaming from its file. The first failure stops new
// work; the uploads in flight finish, what succeeded stays, and the returned [*Error]
// names the failing key. Running Collect again finishes the job.
package staticfiles

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gormfile/gormfile/storage"
)

// DefaultJobs is the number of concurrent operations when [Options.Jobs] is 0.
const DefaultJobs = 8

// MetadataSHA256 is the metadata entry, holding the hex SHA-256 digest of the content,
// that [Collect] stores with every object it uploads.
const MetadataSHA256 = "sha256"

// Options tunes [Collect]. A nil *Options means the zero value, which has no source.
type Options struct {
	// Sources are the directories to publish, in order of precedence. Symbolic links
	// in them are followed; a dangling link or a loop is an error.
	Sources []string

	// Ignore holds path.Match patterns; a file or directory whose base name or path
	// relative to its source matches one is skipped. Nil means [DefaultIgnore]; an
	// empty, non-nil slice ignores nothing.
	Ignore []string

	// Jobs bounds the operations (uploads, deletions, digests) run at once; 0 means
	// [DefaultJobs].
	Jobs int

	// DryRun makes Collect compare and report without changing the destination.
	DryRun bool

	// Clear deletes the destination's objects that no source file maps to. It runs
	// after every upload succeeded, and not at all after a failure.
	Clear bool

	// Manifest publishes, beside each file, a copy under a hashed name that changes with
	// its content ("css/app.css" also as "css/app.3f2a9c1b0e4d.css"), and a manifest,
	// [ManifestName], that maps original names to hashed ones, as Django's
	// ManifestStaticFilesStorage does. In the hashed copies of stylesheets, url(...),
	// @import and sourceMappingURL references to other published files name their
	// hashed copies; a stylesheet's hash covers its rewritten content. Stylesheets are
	// read whole to be rewritten.
	Manifest bool

	// CacheControl is stored with every uploaded object where the backend keeps it.
	CacheControl string

	// Progress, when set, is called after each file or object is dealt with, by one
	// goroutine at a time.
	Progress func(Event)
}

// Action is what [Collect] did with one key.
type Action string

// The actions reported in an [Event].
const (
	Copied     Action = "copied"
	Unmodified Action = "unmodified"
	Deleted    Action = "deleted"
)

// Event reports one key dealt with.
type Event struct {
	Action Action
	Key    string
	// Size is the file's size, or the deleted object's.
	Size int64
	// DryRun is set when nothing was changed: the action is what would be done.
	DryRun bool
	// Done counts the events so far, this one included, out of Total: the source files
	// plus the objects to delete found so far (with Clear, the listing runs while files
	// are published, and Total grows as it finds objects to delete).
	Done, Total int
}

// Result sums up a run of [Collect]. With DryRun, the counts are what would be done.
type Result struct {
	Copied, Unmodified, Deleted int
	// CopiedBytes is the total size of the copied files.
	CopiedBytes int64
	Duration    time.Duration
	// Manifest is the manifest published with Options.Manifest, else nil.
	Manifest *Manifest
}

// Error is the error of [Collect] on one key: Op is "list", "compare", "copy",
// "delete", "hash" and "rewrite" (with Manifest), or "collect" for a context done
// between operations; Key is empty for "list" and "collect".
type Error struct {
	Op  string
	Key string
	Err error
}

func (e *Error) Error() string {
	if e.Key == "" {
		return "staticfiles: " + e.Op + ": " + e.Err.Error()
	}
	return "staticfiles: " + e.Op + " " + e.Key + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// errChanged is the error of an upload whose file changed after it was digested.
var errChanged = errors.New("file changed during upload")

// Collect publishes the files of opts.Sources to dst. It returns what it did, also
// when it fails.
func Collect(ctx context.Context, dst storage.Storage, opts *Options) (*Result, error) {
	start := time.Now()
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Sources) == 0 {
		return nil, errors.New("staticfiles: no source directory")
	}
	if o.Ignore == nil {
		o.Ignore = DefaultIgnore
	}
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}

	files, err := scan(o.Sources, o.Ignore)
	if err != nil {
		return nil, err
	}
	var manifest *Manifest
	if o.Manifest {
		if files, manifest, err = withManifest(ctx, files, o.Jobs); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(files, func(a, b sourceFile) int { return strings.Compare(a.key, b.key) })

	c := &collector{dst: dst, opts: &o, total: len(files)}
	c.res.Manifest = manifest
	c.hasher, _ = dst.(storage.Hasher)
	stale := c.publishAll(ctx, files)
	if !c.failed.Load() {
		run(ctx, o.Jobs, len(stale), func(i int) error { return c.remove(ctx, stale[i]) })
	}
	if c.err == nil && ctx.Err() != nil {
		c.err = &Error{Op: "collect", Err: ctx.Err()}
	}
	c.res.Duration = time.Since(start)
	if c.err != nil {
		return &c.res, c.err
	}
	return &c.res, nil
}

// collector holds the state of one run of [Collect].
type collector struct {
	dst    storage.Storage
	hasher storage.Hasher
	opts   *Options

	failed atomic.Bool // set with err

	mu    sync.Mutex
	res   Result
	done  int
	total int
	err   error
}

// task is a source file to publish with the destination's object under its key, nil
// when there is none.
type task struct {
	file sourceFile
	dst  *storage.Attributes
}

// errStopped stops the listing once a file failed.
var errStopped = errors.New("stopped")

// publishAll publishes files, sorted by key, while it lists the destination: a listing
// comes in key order, so a file whose key sorts before the object just listed has no
// object, and its upload can start at once, as can the comparison of a file with the
// object of its key. Hashing and uploading thus overlap the listing. It returns the
// objects no file maps to when Clear is set.
//
// A listing out of order costs uploads, never correctness: a file is then taken for
// missing and uploaded again, and an object is stale only when no file has its key.
func (c *collector) publishAll(ctx context.Context, files []sourceFile) []*storage.Attributes {
	// Each file is queued once: the listing never waits for the workers.
	queue := make(chan task, len(files))
	var wg sync.WaitGroup
	for range min(c.opts.Jobs, len(files)) {
		wg.Go(func() {
			for t := range queue {
				if !c.failed.Load() && ctx.Err() == nil {
					c.publish(ctx, t.file, t.dst)
				}
			}
		})
	}

	source := make(map[string]bool, len(files))
	for _, f := range files {
		source[f.key] = true
	}
	// Until the first page of the listing comes, the files are digested ahead, in the
	// order their comparisons will need them, by MD5: the digest entity tags hold.
	ahead, stopAhead := context.WithCancel(ctx)
	var aheadDone sync.WaitGroup
	var aheadNext atomic.Int64
	for range min(c.opts.Jobs, runtime.GOMAXPROCS(0), len(files)) {
		aheadDone.Go(func() {
			for ahead.Err() == nil {
				i := int(aheadNext.Add(1)) - 1
				if i >= len(files) {
					return
				}
				if files[i].data == nil {
					files[i].digest(true, false) // a failure shows again when it matters
				}
			}
		})
	}
	defer aheadDone.Wait()
	defer stopAhead()

	var stale []*storage.Attributes
	next := 0
	err := c.dst.List(ctx, "", func(a *storage.Attributes) error {
		stopAhead()
		if c.failed.Load() {
			return errStopped
		}
		for next < len(files) && files[next].key < a.Key {
			queue <- task{file: files[next]}
			next++
		}
		switch {
		case next < len(files) && files[next].key == a.Key:
			queue <- task{file: files[next], dst: a}
			next++
		case c.opts.Clear && !source[a.Key]:
			stale = append(stale, a)
			c.mu.Lock()
			c.total++
			c.mu.Unlock()
		}
		return nil
	})
	switch {
	case err == nil:
		for ; next < len(files); next++ {
			queue <- task{file: files[next]}
		}
	case !errors.Is(err, errStopped):
		c.fail("list", "", err)
	}
	stopAhead()
	close(queue)
	wg.Wait()
	return stale
}

// run calls fn for 0 ≤ i < n on at most jobs goroutines, and stops starting new calls
// once one fails or ctx is done. fn reports its failures through fail.
func run(ctx context.Context, jobs, n int, fn func(i int) error) {
	var (
		wg     sync.WaitGroup
		failed = make(chan struct{})
		once   sync.Once
		next   = make(chan int)
	)
	for range min(jobs, n) {
		wg.Go(func() {
			for i := range next {
				if fn(i) != nil {
					once.Do(func() { close(failed) })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-failed:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// report counts one action and tells the caller.
func (c *collector) report(action Action, key string, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch action {
	case Copied:
		c.res.Copied++
		c.res.CopiedBytes += size
	case Unmodified:
		c.res.Unmodified++
	case Deleted:
		c.res.Deleted++
	}
	c.done++
	if c.opts.Progress != nil {
		c.opts.Progress(Event{Action: action, Key: key, Size: size, DryRun: c.opts.DryRun,
			Done: c.done, Total: c.total})
	}
}

// fail keeps the first failure and returns err.
func (c *collector) fail(op, key string, err error) error {
	err = &Error{Op: op, Key: key, Err: err}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
		c.failed.Store(true)
	}
	c.mu.Unlock()
	return err
}

// publish uploads f unless a, the object under its key (nil: none), holds its
// content already.
func (c *collector) publish(ctx context.Context, f sourceFile, a *storage.Attributes) error {
	if a != nil && a.Size == f.size {
		same, err := c.same(ctx, f, a)
		if err != nil {
			return c.fail("compare", f.key, err)
		}
		if same {
			c.report(Unmodified, f.key, f.size)
			return nil
		}
	}
	if !c.opts.DryRun {
		if err := c.upload(ctx, f); err != nil {
			return c.fail("copy", f.key, err)
		}
	}
	c.report(Copied, f.key, f.size)
	return nil
}

// same reports whether the object a holds the content of f.
func (c *collector) same(ctx context.Context, f sourceFile, a *storage.Attributes) (bool,
	error) {
	if sum := metadata(a.Metadata, MetadataSHA256); sum != "" {
		_, sha, err := f.digest(false, true)
		return err == nil && strings.EqualFold(sum, sha), err
	}
	if isMD5(a.ETag) {
		md, _, err := f.digest(true, false)
		return err == nil && strings.EqualFold(a.ETag, md), err
	}
	if strings.Contains(a.ETag, "-") {
		// A multipart object: listings carry no metadata, the object's head does.
		full, err := c.dst.Stat(ctx, f.key)
		if err != nil {
			return false, err
		}
		sum := metadata(full.Metadata, MetadataSHA256)
		if sum == "" || full.Size != f.size {
			return false, nil
		}
		_, sha, err := f.digest(false, true)
		return err == nil && strings.EqualFold(sum, sha), err
	}
	if c.hasher != nil {
		sum, err := c.hasher.ContentMD5(ctx, f.key)
		if err != nil {
			return false, err
		}
		md, _, err := f.digest(true, false)
		return err == nil && strings.EqualFold(sum, md), err
	}
	return false, nil
}

// upload streams f to the destination with its SHA-256 digest in the metadata, and
// fails, leaving no object, when the file's content no longer has that digest.
func (c *collector) upload(ctx context.Context, f sourceFile) error {
	_, sha, err := f.digest(false, true)
	if err != nil {
		return err
	}
	r, err := f.open()
	if err != nil {
		return err
	}
	defer r.Close()
	key, err := c.dst.Save(ctx, f.key, &checkedReader{r: r, h: sha256.New(), want: sha},
		&storage.SaveOptions{
			ContentType:  storage.ContentTypeByName(f.key),
			CacheControl: c.opts.CacheControl,
			Metadata:     map[string]string{MetadataSHA256: sha},
			Overwrite:    true,
			Size:         f.size,
		})
	if err != nil {
		return err
	}
	if key != f.key {
		return fmt.Errorf("the storage wrote %q instead", key)
	}
	return nil
}

// remove deletes the object a.
func (c *collector) remove(ctx context.Context, a *storage.Attributes) error {
	if !c.opts.DryRun {
		if err := c.dst.Delete(ctx, a.Key); err != nil {
			return c.fail("delete", a.Key, err)
		}
	}
	c.report(Deleted, a.Key, a.Size)
	return nil
}

// metadata returns the entry named key, whatever the case of its name: S3 gives names
// in lower case.
func metadata(m map[string]string, key string) string {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// isMD5 reports whether etag has the form of a hex MD5 digest.
func isMD5(etag string) bool {
	if len(etag) != 2*md5.Size {
		return false
	}
	for _, c := range etag {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// checkedReader passes its content through and, at its end, fails with errChanged
// when the content's SHA-256 digest is not want.
type checkedReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(c.h.Sum(nil)) != c.want {
		return n, errChanged
	}
	return n, err
}
