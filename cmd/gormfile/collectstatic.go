package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gormfile/gormfile/staticfiles"
	"github.com/gormfile/gormfile/storage"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// collectStatic runs "gormfile collectstatic".
func collectStatic(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("collectstatic", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		sources, ignore stringList
		o               staticfiles.Options
		noDefaultIgnore bool
		verbose         bool
		backend         = fs.String("storage-backend", "", "the storage `backend` "+
			"(default: $STATIC_STORAGE_BACKEND, else $STORAGE_BACKEND, else filesystem)")
		config = fs.String("storage-config", "", "the storage's settings as a JSON "+
			"`object` (default: $STATIC_STORAGE_CONFIG, else $STORAGE_CONFIG)")
	)
	fs.Var(&sources, "source", "a `directory` to publish; repeat for more, the first "+
		"one winning when two hold the same path")
	fs.Var(&ignore, "ignore", "skip files and directories whose name or relative path "+
		"matches `pattern` (path.Match); repeat for more")
	fs.BoolVar(&noDefaultIgnore, "no-default-ignore", false,
		"do not skip dot-files, '*~' and 'CVS' by default")
	fs.IntVar(&o.Jobs, "jobs", staticfiles.DefaultJobs, "the `number` of uploads at once")
	fs.BoolVar(&o.DryRun, "dry-run", false, "report what would be done, change nothing")
	fs.BoolVar(&o.Clear, "clear", false,
		"delete the storage's objects that no source file maps to (refused when the "+
			"storage comes from STORAGE_CONFIG, the media's settings)")
	fs.StringVar(&o.CacheControl, "cache-control", "",
		"the Cache-Control `value` stored with each uploaded object")
	fs.BoolVar(&o.Manifest, "manifest", false, "also publish copies under hashed names, "+
		"stylesheets' references rewritten, and the manifest "+staticfiles.ManifestName)
	fs.BoolVar(&verbose, "verbose", false, "also list unmodified files")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(e.stdout)
			fmt.Fprintln(e.stdout, "usage: gormfile collectstatic --source DIR [flags]")
			fs.PrintDefaults()
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if len(sources) == 0 {
		return &usageError{"collectstatic: at least one --source is required"}
	}
	if o.Jobs < 1 {
		return &usageError{"collectstatic: --jobs must be at least 1"}
	}
	o.Sources = sources
	o.Ignore = append([]string{}, ignore...)
	if !noDefaultIgnore {
		o.Ignore = append(o.Ignore, staticfiles.DefaultIgnore...)
	}

	if o.Clear && firstSet(*config, e.getenv("STATIC_STORAGE_CONFIG")) == "" {
		// STORAGE_CONFIG is where an application's uploaded media live: clearing it
		// of what the sources lack would delete every upload.
		return &usageError{"collectstatic: --clear needs the static storage named by " +
			"--storage-config or STATIC_STORAGE_CONFIG, not the media's STORAGE_CONFIG"}
	}
	dst, err := openStorage(ctx, e, *backend, *config)
	if err != nil {
		return err
	}
	p := &progress{w: e.stdout, terminal: e.terminal, verbose: verbose}
	o.Progress = p.event
	res, err := staticfiles.Collect(ctx, dst, &o)
	p.finish()
	if res != nil {
		fmt.Fprintln(e.stdout, summary(res, o.DryRun))
	}
	return err
}

// openStorage opens the storage the flags, else the environment, name.
func openStorage(ctx context.Context, e *env, backend, config string) (storage.Storage,
	error) {
	backend = firstSet(backend, e.getenv("STATIC_STORAGE_BACKEND"),
		e.getenv("STORAGE_BACKEND"), "filesystem")
	config = firstSet(config, e.getenv("STATIC_STORAGE_CONFIG"), e.getenv("STORAGE_CONFIG"))
	cfg, err := storage.ParseConfig(config)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = storage.Config{} // "null"
	}
	return storage.Open(ctx, backend, cfg)
}

// firstSet returns the first of values that is not blank, trimmed.
func firstSet(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// summary is the last line of a run.
func summary(res *staticfiles.Result, dryRun bool) string {
	s := fmt.Sprintf("%d copied, %d unmodified, %d deleted in %.2f s", res.Copied,
		res.Unmodified, res.Deleted, res.Duration.Seconds())
	if dryRun {
		s += " (dry run: nothing was changed)"
	}
	return s
}

// progress writes what a run does: a line per copied or deleted key when stdout is no
// terminal, a counter updated in place when it is one.
type progress struct {
	w        io.Writer
	terminal bool
	verbose  bool

	last   time.Time
	counts map[staticfiles.Action]int
	shown  bool
}

// event is the staticfiles.Options.Progress callback; Collect calls it serially.
func (p *progress) event(ev staticfiles.Event) {
	if !p.terminal {
		if ev.Action != staticfiles.Unmodified || p.verbose {
			fmt.Fprintf(p.w, "%s %s\n", ev.Action, ev.Key)
		}
		return
	}
	if p.counts == nil {
		p.counts = map[staticfiles.Action]int{}
	}
	p.counts[ev.Action]++
	if now := time.Now(); ev.Done == ev.Total || now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.shown = true
		fmt.Fprintf(p.w, "\r%d/%d files: %d copied, %d unmodified, %d deleted\x1b[K",
			ev.Done, ev.Total, p.counts[staticfiles.Copied],
			p.counts[staticfiles.Unmodified], p.counts[staticfiles.Deleted])
	}
}

// finish ends the counter's line.
func (p *progress) finish() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
