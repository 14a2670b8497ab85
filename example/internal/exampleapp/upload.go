package exampleapp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// OpenUpload opens a local file to attach to a file column and returns it with its
// size, for field.NewFile(f, name).WithSize(size). The caller closes it after the row
// is saved. Anything but a regular file is refused. Errors do not repeat the path:
// the caller names it.
func OpenUpload(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, 0, fmt.Errorf("open: %w", pe.Err)
		}
		return nil, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat: %w", err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		if info.IsDir() {
			return nil, 0, errors.New("is a directory")
		}
		return nil, 0, errors.New("not a regular file")
	}
	return f, info.Size(), nil
}
