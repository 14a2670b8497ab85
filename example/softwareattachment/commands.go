package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile/example/internal/exampleapp"
	"github.com/gormfile/gormfile/field"
)

// parseUpload reads "upload PATH [--name N] [--filename CLIENT_NAME]", the flags before
// or after PATH.
func parseUpload(args []string) (action, error) {
	fs := exampleapp.NewFlagSet("upload")
	name := fs.String("name", "", "a description of at most 50 characters")
	clientName := fs.String("filename", "", "the file name the key is made from "+
		"(default: PATH's base name)")
	pos, err := exampleapp.ParseArgs(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(pos) != 1:
		return nil, exampleapp.Usagef("want PATH, have %d arguments", len(pos))
	case !utf8.ValidString(*name):
		return nil, fmt.Errorf("--name is not valid UTF-8")
	case utf8.RuneCountInString(*name) > maxName:
		// Checked here: PostgreSQL would refuse the row only after the upload, and
		// SQLite would keep the whole name.
		return nil, fmt.Errorf("--name is %d characters long; the limit is %d",
			utf8.RuneCountInString(*name), maxName)
	}
	path := pos[0]
	if *clientName == "" {
		*clientName = filepath.Base(path)
	}

	return func(ctx context.Context, db *gorm.DB) error {
		f, size, err := exampleapp.OpenUpload(path)
		if err != nil {
			return fmt.Errorf("%q: %w", path, err)
		}
		defer f.Close()
		a := SoftwareFileAttachment{
			File: field.NewFile(f, *clientName).WithSize(size),
			Name: *name,
		}
		if err := db.Create(&a).Error; err != nil {
			return fmt.Errorf("%q: %w", path, err)
		}
		return printRow(ctx, &a)
	}, nil
}

// parseList reads "list". It asks the storage for each file's size.
func parseList(args []string) (action, error) {
	if _, err := exampleapp.Positional("list", args); err != nil {
		return nil, err
	}
	return func(ctx context.Context, db *gorm.DB) error {
		var batch []SoftwareFileAttachment
		return db.FindInBatches(&batch, 100, func(*gorm.DB, int) error {
			for i := range batch {
				if err := printRow(ctx, &batch[i]); err != nil {
					return err
				}
			}
			return nil
		}).Error
	}, nil
}

// parseGet reads "get ID [-o OUT]", the flag before or after ID. With -o the file's
// content is streamed to OUT, which appears whole or not at all.
func parseGet(args []string) (action, error) {
	fs := exampleapp.NewFlagSet("get")
	out := fs.String("o", "", "write the file's content to this local path")
	pos, err := exampleapp.ParseArgs(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(pos) != 1:
		return nil, exampleapp.Usagef("want ID, have %d arguments", len(pos))
	case *out == "-":
		return nil, exampleapp.Usagef("-o -: stdout is for the JSON rows; name a file")
	}
	id, err := exampleapp.ParseID(pos[0])
	if err != nil {
		return nil, err
	}

	return func(ctx context.Context, db *gorm.DB) error {
		var a SoftwareFileAttachment
		if err := find(db, &a, id); err != nil {
			return err
		}
		if *out != "" {
			if err := download(ctx, a.File, *out); err != nil {
				return fmt.Errorf("attachment %d: %w", id, err)
			}
		}
		return printRow(ctx, &a)
	}, nil
}

// parseDelete reads "delete ID". The command prints the row as it was, read before the
// delete; the file is deleted once the delete is committed. A row whose file is
// missing from the storage is deleted too, printed with size 0.
func parseDelete(args []string) (action, error) {
	pos, err := exampleapp.Positional("delete", args, "ID")
	if err != nil {
		return nil, err
	}
	id, err := exampleapp.ParseID(pos[0])
	if err != nil {
		return nil, err
	}

	return func(ctx context.Context, db *gorm.DB) error {
		var row *attachmentRow
		err := db.Transaction(func(tx *gorm.DB) error {
			var a SoftwareFileAttachment
			if err := find(tx, &a, id); err != nil {
				return err
			}
			var err error
			if row, err = toRow(ctx, &a); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return tx.Delete(&a).Error
		})
		if err != nil {
			return err
		}
		return exampleapp.Print(row)
	}, nil
}

// find loads the attachment with the given id.
func find(db *gorm.DB, a *SoftwareFileAttachment, id uint) error {
	if err := db.First(a, id).Error; err != nil {
		return fmt.Errorf("attachment %d: %w", id, err)
	}
	return nil
}
