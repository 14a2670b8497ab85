package main

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile/example/internal/exampleapp"
)

// parseAdd reads "add --manufacturer M --model X [--front PATH] [--rear PATH]".
func parseAdd(args []string) (action, error) {
	fs := exampleapp.NewFlagSet("add")
	manufacturer := fs.String("manufacturer", "", "the manufacturer's name (required)")
	model := fs.String("model", "", "the model's name (required)")
	frontPath := fs.String("front", "", "a local image file of the front panel")
	rearPath := fs.String("rear", "", "a local image file of the rear panel")
	rest, err := exampleapp.ParseArgs(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(rest) > 0:
		return nil, exampleapp.Usagef("unexpected argument %q", rest[0])
	case strings.TrimSpace(*manufacturer) == "":
		return nil, exampleapp.Usagef("--manufacturer is required")
	case strings.TrimSpace(*model) == "":
		return nil, exampleapp.Usagef("--model is required")
	}

	return func(ctx context.Context, db *gorm.DB) error {
		d := DeviceType{Manufacturer: *manufacturer, Model: *model}
		paths := map[string]string{}
		for _, f := range []struct {
			side
			path string
		}{{front, *frontPath}, {rear, *rearPath}} {
			s, path := f.side, f.path
			if path == "" {
				continue
			}
			img, done, err := s.openImage(path)
			if err != nil {
				return err
			}
			defer done()
			*s.image(&d) = img
			paths[s.field] = path
		}
		// The plugin reads each image's header before anything is written: a file that
		// is not an image fails Create with no row and no object left.
		if err := db.Create(&d).Error; err != nil {
			return explainSave(err, paths)
		}
		return printRow(ctx, &d)
	}, nil
}

// parseList reads "list".
func parseList(args []string) (action, error) {
	if _, err := exampleapp.Positional("list", args); err != nil {
		return nil, err
	}
	return func(ctx context.Context, db *gorm.DB) error {
		var batch []DeviceType
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

// parseGet reads "get ID".
func parseGet(args []string) (action, error) {
	id, err := parseID("get", args)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, db *gorm.DB) error {
		var d DeviceType
		if err := find(db, &d, id); err != nil {
			return err
		}
		return printRow(ctx, &d)
	}, nil
}

// parseSet reads "set-front ID PATH" or "set-rear ID PATH". The old image is deleted
// once the new one is saved and the row committed.
func parseSet(s side) func(args []string) (action, error) {
	return func(args []string) (action, error) {
		pos, err := exampleapp.Positional("set-"+s.name, args, "ID", "PATH")
		if err != nil {
			return nil, err
		}
		id, err := exampleapp.ParseID(pos[0])
		if err != nil {
			return nil, err
		}
		path := pos[1]

		return func(ctx context.Context, db *gorm.DB) error {
			img, done, err := s.openImage(path)
			if err != nil {
				return err
			}
			defer done()
			var d DeviceType
			err = db.Transaction(func(tx *gorm.DB) error {
				if err := find(tx, &d, id); err != nil {
					return err
				}
				*s.image(&d) = img
				return tx.Save(&d).Error
			})
			if err != nil {
				return explainSave(err, map[string]string{s.field: path})
			}
			return printRow(ctx, &d)
		}, nil
	}
}

// parseClear reads "clear-front ID" or "clear-rear ID". The image is deleted once the
// row is committed.
func parseClear(s side) func(args []string) (action, error) {
	return func(args []string) (action, error) {
		id, err := parseID("clear-"+s.name, args)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, db *gorm.DB) error {
			var d DeviceType
			err := db.Transaction(func(tx *gorm.DB) error {
				if err := find(tx, &d, id); err != nil {
					return err
				}
				s.image(&d).Clear()
				return tx.Save(&d).Error
			})
			if err != nil {
				return err
			}
			return printRow(ctx, &d)
		}, nil
	}
}

// parseDelete reads "delete ID". The command prints the row as it was; its images are
// deleted once the delete is committed.
func parseDelete(args []string) (action, error) {
	id, err := parseID("delete", args)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, db *gorm.DB) error {
		var row *deviceTypeRow
		err := db.Transaction(func(tx *gorm.DB) error {
			var d DeviceType
			if err := find(tx, &d, id); err != nil {
				return err
			}
			var err error
			if row, err = toRow(ctx, &d); err != nil {
				return err
			}
			return tx.Delete(&d).Error
		})
		if err != nil {
			return err
		}
		return exampleapp.Print(row)
	}, nil
}

// parseID reads the command line of a command that takes one row id.
func parseID(cmd string, args []string) (uint, error) {
	pos, err := exampleapp.Positional(cmd, args, "ID")
	if err != nil {
		return 0, err
	}
	return exampleapp.ParseID(pos[0])
}

// find loads the device type with the given id.
func find(db *gorm.DB, d *DeviceType, id uint) error {
	if err := db.First(d, id).Error; err != nil {
		return fmt.Errorf("device type %d: %w", id, err)
	}
	return nil
}
