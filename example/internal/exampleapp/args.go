package exampleapp

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
)

// NewFlagSet returns a flag set for a subcommand whose errors are returned, not
// printed: [ParseArgs] turns them into a [*UsageError].
func NewFlagSet(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// ParseArgs parses args with fs, accepting flags before, between and after the
// positional arguments ("upload PATH --name N" as well as "upload --name N PATH"), and
// returns the positional ones. An argument that starts with "-" is taken for a flag:
// write a path such as "-x" as "./-x".
func ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &UsageError{Msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// ParseID reads a row's id from the command line.
func ParseID(s string) (uint, error) {
	n, err := strconv.ParseUint(s, 10, 0)
	if err != nil || n == 0 {
		return 0, Usagef("%q is not a row id (a positive integer)", s)
	}
	return uint(n), nil
}

// Positional parses the command line of a command that takes no flags and exactly the
// positional arguments names lists, and returns them.
func Positional(cmd string, args []string, names ...string) ([]string, error) {
	pos, err := ParseArgs(NewFlagSet(cmd), args)
	if err != nil {
		return nil, err
	}
	if len(pos) != len(names) {
		if len(names) == 0 {
			return nil, Usagef("unexpected argument %q", pos[0])
		}
		return nil, Usagef("want %s, have %d arguments", strings.Join(names, " "), len(pos))
	}
	return pos, nil
}
