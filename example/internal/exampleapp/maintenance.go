package exampleapp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile"
)

// ErrMissing is returned by [Check] when some row names an object that is missing, so
// that the command exits non-zero.
var ErrMissing = errors.New("some rows name missing objects")

// Check reports, one line each on stdout, the rows of models whose objects are missing,
// then a summary line. It returns [ErrMissing] when any is.
func Check(ctx context.Context, db *gorm.DB, models ...any) error {
	p := gormfile.PluginOf(db)
	start := time.Now()
	res, err := p.Check(ctx, db, models, &gormfile.CheckOptions{
		Missing: func(m gormfile.MissingFile) {
			what := m.Column
			if m.Rendition != "" {
				what += " (" + m.Rendition + ")"
			}
			fmt.Printf("missing %s.%s id=%v %s\n", m.Table, what, m.ID, m.Key)
		},
	})
	if err != nil {
		return err
	}
	fmt.Printf("check: %d rows, %d files, %d missing in %.1f s\n", res.Rows, res.Files,
		res.Missing, time.Since(start).Seconds())
	if res.Missing > 0 {
		return ErrMissing
	}
	return nil
}

// ParseSweep reads "sweep [--dry-run] [--grace DURATION]".
func ParseSweep(args []string) (*gormfile.SweepOptions, error) {
	fs := NewFlagSet("sweep")
	dryRun := fs.Bool("dry-run", false, "list what would be removed; change nothing")
	grace := fs.Duration("grace", time.Hour, "leave unreferenced objects younger than this")
	rest, err := ParseArgs(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(rest) > 0:
		return nil, Usagef("unexpected argument %q", rest[0])
	case *grace <= 0:
		return nil, Usagef("--grace must be positive")
	}
	return &gormfile.SweepOptions{DryRun: *dryRun, Grace: *grace}, nil
}

// Sweep removes objects no row of models names, and retries recorded deletes, printing
// a line for each object and a summary line on stdout.
func Sweep(ctx context.Context, db *gorm.DB, opts *gormfile.SweepOptions, models ...any) error {
	p := gormfile.PluginOf(db)
	verb := "removed"
	if opts.DryRun {
		verb = "would remove"
	}
	opts.Removed = func(o gormfile.SweptObject) {
		fmt.Printf("%s %s %s (%s)\n", verb, o.Storage, o.Key, o.Reason)
	}
	opts.Skipped = func(table, column, reason string) {
		fmt.Fprintf(os.Stderr, "skipped %s.%s: %s\n", table, column, reason)
	}
	start := time.Now()
	res, err := p.Sweep(ctx, db, models, opts)
	if err != nil {
		return err
	}
	fmt.Printf("sweep: %d objects listed, %d unreferenced, %d pending deletes, %d removed "+
		"in %.1f s\n", res.Listed, res.Unreferenced, res.PendingDeletes, res.Removed,
		time.Since(start).Seconds())
	return nil
}

// CheckCommand parses "check" and returns the command to run on the database.
func CheckCommand(args []string, models ...any) (func(context.Context, *gorm.DB) error, error) {
	if len(args) > 0 {
		return nil, Usagef("unexpected argument %q", args[0])
	}
	return func(ctx context.Context, db *gorm.DB) error {
		return Check(ctx, db, models...)
	}, nil
}

// SweepCommand parses "sweep [--dry-run] [--grace DURATION]" and returns the command to
// run on the database.
func SweepCommand(args []string, models ...any) (func(context.Context, *gorm.DB) error, error) {
	opts, err := ParseSweep(args)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, db *gorm.DB) error {
		return Sweep(ctx, db, opts, models...)
	}, nil
}
