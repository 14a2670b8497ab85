// Command devicetype keeps a catalogue of device types, each with a front and a rear
// panel image, as Nautobot's DeviceType model does with two Django ImageFields.
//
// The images are field.Image columns: their bytes go to the configured storage under
// devicetype-images/, their keys into the row, and their width and height into the
// columns the field tags name, and a 200×200 thumbnail of each is saved beside it. A
// file that is not an image is refused before anything is written.
//
// Usage:
//
//	devicetype add --manufacturer M --model X [--front PATH] [--rear PATH]
//	devicetype list
//	devicetype get ID
//	devicetype set-front ID PATH    devicetype set-rear ID PATH
//	devicetype clear-front ID       devicetype clear-rear ID
//	devicetype delete ID
//	devicetype check
//	devicetype sweep [--dry-run] [--grace 1h]
//
// Each command prints the rows it reads or writes as JSON, one object a line. The
// database and the storage come from DATABASE_URL, STORAGE_BACKEND and STORAGE_CONFIG,
// as package exampleapp describes; by default ./data/devicetype.db and ./data/media.
package main

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/example/internal/exampleapp"
	"github.com/gormfile/gormfile/field"
)

const app = "devicetype"

// DeviceType is a make and model of device, with pictures of its front and rear panels.
// Each image's width and height are written into the fields its tag names when it is
// saved, and a thumbnail that fits in 200×200 is saved beside it ("thumb").
type DeviceType struct {
	ID           uint
	Manufacturer string
	Model        string

	FrontImage       field.Image `gorm:"index" file:"upload_to:devicetype-images;width_field:FrontImageWidth;height_field:FrontImageHeight;renditions:thumb=200x200"`
	FrontImageWidth  int
	FrontImageHeight int

	RearImage       field.Image `gorm:"index" file:"upload_to:devicetype-images;width_field:RearImageWidth;height_field:RearImageHeight;renditions:thumb=200x200"`
	RearImageWidth  int
	RearImageHeight int

	CreatedAt time.Time
	UpdatedAt time.Time
}

const usage = `usage: devicetype COMMAND [ARGS]

Commands:
  add --manufacturer M --model X [--front PATH] [--rear PATH]
                     add a device type, with its panel images if given
  list               print every device type
  get ID             print one device type
  set-front ID PATH  replace the front image (the old one and its thumbnail
                     are deleted)
  set-rear ID PATH   replace the rear image
  clear-front ID     remove the front image
  clear-rear ID      remove the rear image
  delete ID          delete a device type and its images
  check              report rows whose image objects are missing (exit 1 if any)
  sweep [--dry-run] [--grace 1h]
                     remove image objects no row names, older than the grace
                     period, and retry deletes that failed after a commit

Rows are printed as JSON, one object a line. Environment: DATABASE_URL (default
./data/devicetype.db), STORAGE_BACKEND (filesystem or s3), STORAGE_CONFIG (JSON;
default {"MEDIA_ROOT":"./data/media"}).
`

// action is a parsed command, ready to run against the database.
type action func(ctx context.Context, db *gorm.DB) error

// commands parse their arguments and return the action to run, so that a wrong
// command line is reported before the database is opened.
var commands = map[string]exampleapp.Command[action]{
	"add":         parseAdd,
	"list":        parseList,
	"get":         parseGet,
	"set-front":   parseSet(front),
	"set-rear":    parseSet(rear),
	"clear-front": parseClear(front),
	"clear-rear":  parseClear(rear),
	"delete":      parseDelete,
	"check": func(args []string) (action, error) {
		return exampleapp.CheckCommand(args, &DeviceType{})
	},
	"sweep": func(args []string) (action, error) {
		return exampleapp.SweepCommand(args, &DeviceType{})
	},
}

func main() {
	exampleapp.Main(app, usage, run)
}

func run(ctx context.Context, args []string) error {
	return exampleapp.Dispatch(ctx, args, commands, open)
}

// open opens the database and the storage, registers the plugin and migrates the
// table.
func open(ctx context.Context) (*gorm.DB, func(), error) {
	cfg, err := exampleapp.Load(app)
	if err != nil {
		return nil, nil, err
	}
	media, err := cfg.OpenStorage(ctx)
	if err != nil {
		return nil, nil, err
	}
	db, err := cfg.OpenDB()
	if err != nil {
		exampleapp.CloseStorage(media)
		return nil, nil, err
	}
	closeAll := func() {
		if p := gormfile.PluginOf(db); p != nil {
			// Forget the records of the deletes this run did, so the sweep need not.
			p.Flush(context.Background())
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		exampleapp.CloseStorage(media)
	}

	plugin := gormfile.New(media, &gormfile.Options{
		OnCleanupError: exampleapp.CleanupReporter(app),
	})
	if err := db.Use(plugin); err != nil {
		closeAll()
		return nil, nil, err
	}
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&DeviceType{}); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("database: migrate: %w", err)
	}
	return db, closeAll, nil
}
