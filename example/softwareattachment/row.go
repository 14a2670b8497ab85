package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gormfile/gormfile/example/internal/exampleapp"
	"github.com/gormfile/gormfile/field"
)

// attachmentRow is the JSON form of an attachment.
type attachmentRow struct {
	ID      uint   `json:"id"`
	Name    string `json:"name"`
	File    string `json:"file"`
	URL     string `json:"url"`
	Size    *int64 `json:"size"` // null when the object is missing
	Created string `json:"created"`
	// Missing is set when the row names an object its storage does not have.
	Missing bool `json:"missing,omitempty"`
}

// toRow builds the JSON form of a, asking the storage for the file's URL and size. A
// missing object gives size null and missing true, so that a list goes on; when the
// storage fails otherwise it returns the row so far with the error.
func toRow(ctx context.Context, a *SoftwareFileAttachment) (*attachmentRow, error) {
	row := &attachmentRow{
		ID:      a.ID,
		Name:    a.Name,
		File:    a.File.Key(),
		Created: a.Created.UTC().Format(time.RFC3339),
	}
	if row.File == "" {
		return row, nil
	}
	var err error
	if row.URL, err = a.File.URL(ctx); err != nil {
		return row, fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	size, err := a.File.Size(ctx)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		row.Missing = true
	case err != nil:
		return row, fmt.Errorf("attachment %d: %w", a.ID, err)
	default:
		row.Size = &size
	}
	return row, nil
}

// printRow prints a as one line of JSON.
func printRow(ctx context.Context, a *SoftwareFileAttachment) error {
	row, err := toRow(ctx, a)
	if err != nil {
		return err
	}
	return exampleapp.Print(row)
}

// download streams the file's content to the local path out. It writes a temporary
// file in out's directory and renames it over out once complete, so that out never
// holds part of the content; the temporary file is removed on any failure.
func download(ctx context.Context, f field.File, out string) (err error) {
	src, err := f.Open(ctx)
	if err != nil {
		return err
	}
	defer src.Close()

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return fmt.Errorf("creating %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, src); err != nil {
		return fmt.Errorf("copying to %s: %w", out, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
