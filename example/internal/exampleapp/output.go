package exampleapp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/gormfile/gormfile/storage"
)

// stdout carries the rows, one JSON object a line, and nothing else. URLs keep their
// "&" as it is, so that a signed URL copied from the output works.
var stdout = func() *json.Encoder {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	return enc
}()

// Print writes row to stdout as one line of JSON.
func Print(row any) error {
	if err := stdout.Encode(row); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

// CleanupReporter returns a function for gormfile.Options.OnCleanupError that tells on
// stderr of an object the plugin could not remove. The command itself has succeeded or
// failed as it reports; the object is left for a sweep.
func CleanupReporter(app string) func(context.Context, storage.Storage, string, error) {
	return func(_ context.Context, _ storage.Storage, key string, err error) {
		fmt.Fprintf(os.Stderr, "%s: warning: object %s left behind: %s\n", app, key,
			oneLine(err.Error()))
	}
}
