// Command gormfile runs the project's maintenance tasks on the storages of an
// application.
//
// Usage:
//
//	gormfile collectstatic --source DIR [--source DIR ...] [flags]
//
// # Subcommands
//
//   - collectstatic publishes directories of static assets to a storage, as Django's
//     collectstatic does: only files whose content is not there yet are uploaded. Run
//     "gormfile collectstatic -h" for its flags.
//
// # Environment
//
// The storage is chosen as the example applications choose theirs, with a way to send
// static assets elsewhere than media:
//
//   - STATIC_STORAGE_BACKEND, else STORAGE_BACKEND: "filesystem" (the default), "s3",
//     or a django-storages class path one of them registers;
//   - STATIC_STORAGE_CONFIG, else STORAGE_CONFIG: the backend's settings as a JSON
//     object under django-storages' names (MEDIA_ROOT, MEDIA_URL;
//     AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, AWS_LOCATION, ...).
//
// The flags --storage-backend and --storage-config take precedence over both.
//
// # Exit status
//
// 0 on success, 1 when the task fails (the message names the failing key), 2 for a
// wrong command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	// The backends the command offers register themselves with package storage.
	_ "github.com/gormfile/gormfile/storage/fsstore"
	_ "github.com/gormfile/gormfile/storage/s3store"
)

const usage = `usage: gormfile COMMAND [flags]

commands:
  collectstatic   publish directories of static assets to a storage
`

// usageError is a wrong command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// env is the process environment, or a test's.
type env struct {
	stdout, stderr io.Writer
	// terminal tells whether stdout is a terminal, for progress output.
	terminal bool
	getenv   func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, terminal: isTerminal(os.Stdout),
		getenv: os.Getenv}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "collectstatic":
		err = collectStatic(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		err = &usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "gormfile: %s\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(e.stderr, "gormfile: %s: %s\n", args[0], err)
		return 1
	}
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
