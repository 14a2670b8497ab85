package exampleapp

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"gorm.io/gorm"
)

// Exit statuses of the example commands.
const (
	ExitError = 1 // the command failed
	ExitUsage = 2 // the command line is wrong
)

// UsageError reports a wrong command line. [Main] prints it with the usage text and
// exits with [ExitUsage].
type UsageError struct {
	Msg string
}

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a [*UsageError] with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Main runs an example command and exits. It gives run the arguments after the
// program's name and a context that an interrupt or SIGTERM cancels, so that uploads
// in flight stop and the plugin removes what they wrote.
//
// An error from run is printed as one line, "app: error", with [ExitError]; a
// [*UsageError] adds the usage text and exits with [ExitUsage]. No arguments, or a
// first argument of help, -h or --help, print the usage.
func Main(app, usage string, run func(ctx context.Context, args []string) error) {
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(ExitUsage)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(os.Stderr, usage)
		os.Exit(0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, args)
	stop()

	var usageErr *UsageError
	switch {
	case err == nil:
		return
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(os.Stderr, usage)
		os.Exit(0)
	case errors.As(err, &usageErr):
		fmt.Fprintf(os.Stderr, "%s: %s\n\n%s", app, oneLine(err.Error()), usage)
		os.Exit(ExitUsage)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", app, oneLine(err.Error()))
	os.Exit(ExitError)
}

// oneLine keeps a message that holds line breaks (a server's error text) on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Command parses a command's arguments and returns the work to run on the database, so
// that a wrong command line is reported before the database is opened.
type Command[A ~func(context.Context, *gorm.DB) error] func(args []string) (A, error)

// Dispatch runs the command args[0] names: it parses the rest of args, opens the
// database with open, runs the command and closes what open opened.
func Dispatch[A ~func(context.Context, *gorm.DB) error](ctx context.Context, args []string,
	commands map[string]Command[A],
	open func(context.Context) (*gorm.DB, func(), error)) error {
	name := args[0]
	parse, ok := commands[name]
	if !ok {
		return Usagef("unknown command %q", name)
	}
	act, err := parse(args[1:])
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	db, closeAll, err := open(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := act(ctx, db); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
