// Command softwareattachment keeps software images (OS upgrade files) as rows of
// SoftwareFileAttachment, in a storage of their own, as a Nautobot app does with a
// Django FileField given its own S3 storage class.
//
// The file column's tag selects the plugin's storage named "media":
//
//   - on S3 it is the configured S3 storage with the bucket SOFTWARE_MEDIA_BUCKET
//     (default nautobot-sw-media) and the location software_images, so files land at
//     software_images/uploads/NAME in that bucket;
//   - on the filesystem it is the directory software-media beside MEDIA_ROOT
//     (./data/software-media by default), served under /software-media/ when
//     MEDIA_URL is /media/.
//
// Usage:
//
//	softwareattachment upload PATH [--name N] [--filename CLIENT_NAME]
//	softwareattachment list
//	softwareattachment get ID [-o OUT]
//	softwareattachment delete ID
//	softwareattachment check
//	softwareattachment sweep [--dry-run] [--grace 1h]
//
// Each command prints the rows it reads or writes as JSON, one object a line. The
// database and the storage come from DATABASE_URL, STORAGE_BACKEND and STORAGE_CONFIG,
// as package exampleapp describes; by default ./data/softwareattachment.db.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/example/internal/exampleapp"
	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

const app = "softwareattachment"

// SoftwareFileAttachment is an uploaded software file for OS upgrades.
type SoftwareFileAttachment struct {
	ID      uint
	File    field.File `gorm:"index" file:"upload_to:uploads/;storage:media"`
	Name    string     `gorm:"size:50"`
	Created time.Time  `gorm:"autoCreateTime"`
}

// maxName is the length of the Name column, in characters.
const maxName = 50

// Where the "media" storage keeps its objects.
const (
	mediaDir           = "software-media"
	defaultMediaBucket = "nautobot-sw-media"
	mediaLocation      = "software_images"
)

const usage = `usage: softwareattachment COMMAND [ARGS]

Commands:
  upload PATH [--name N] [--filename CLIENT_NAME]
                    store a local file; CLIENT_NAME (default: PATH's base name)
                    is the name the key is made from; N is at most 50 characters
  list              print every attachment
  get ID [-o OUT]   print one attachment; with -o, also write its content to OUT
  delete ID         delete an attachment and its file
  check             report rows whose file objects are missing (exit 1 if any)
  sweep [--dry-run] [--grace 1h]
                    remove file objects no row names, older than the grace
                    period, and retry deletes that failed after a commit

Rows are printed as JSON, one object a line. Environment: DATABASE_URL (default
./data/softwareattachment.db), STORAGE_BACKEND (filesystem or s3), STORAGE_CONFIG
(JSON; default {"MEDIA_ROOT":"./data/media"}: files go to ./data/software-media),
SOFTWARE_MEDIA_BUCKET (on S3; default nautobot-sw-media).
`

// action is a parsed command, ready to run against the database.
type action func(ctx context.Context, db *gorm.DB) error

// commands parse their arguments and return the action to run, so that a wrong
// command line is reported before the database is opened.
var commands = map[string]exampleapp.Command[action]{
	"upload": parseUpload,
	"list":   parseList,
	"get":    parseGet,
	"delete": parseDelete,
	"check": func(args []string) (action, error) {
		return exampleapp.CheckCommand(args, &SoftwareFileAttachment{})
	},
	"sweep": func(args []string) (action, error) {
		return exampleapp.SweepCommand(args, &SoftwareFileAttachment{})
	},
}

func main() {
	exampleapp.Main(app, usage, run)
}

func run(ctx context.Context, args []string) error {
	return exampleapp.Dispatch(ctx, args, commands, open)
}

// open opens the database and the two storages, registers the plugin with "media"
// beside the default storage, and migrates the table.
func open(ctx context.Context) (*gorm.DB, func(), error) {
	cfg, err := exampleapp.Load(app)
	if err != nil {
		return nil, nil, err
	}
	def, err := cfg.OpenStorage(ctx)
	if err != nil {
		return nil, nil, err
	}
	bucket := strings.TrimSpace(os.Getenv("SOFTWARE_MEDIA_BUCKET"))
	if bucket == "" {
		bucket = defaultMediaBucket
	}
	media, err := cfg.OpenSecondStorage(ctx, exampleapp.Placement{
		Dir: mediaDir,
		S3:  map[string]any{"AWS_STORAGE_BUCKET_NAME": bucket, "AWS_LOCATION": mediaLocation},
	})
	if err != nil {
		exampleapp.CloseStorage(def)
		return nil, nil, err
	}
	db, err := cfg.OpenDB()
	if err != nil {
		exampleapp.CloseStorage(def)
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
		exampleapp.CloseStorage(def)
		exampleapp.CloseStorage(media)
	}

	plugin := gormfile.New(def, &gormfile.Options{
		Storages:       map[string]storage.Storage{"media": media},
		OnCleanupError: exampleapp.CleanupReporter(app),
	})
	if err := db.Use(plugin); err != nil {
		closeAll()
		return nil, nil, err
	}
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&SoftwareFileAttachment{}); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("database: migrate: %w", err)
	}
	return db, closeAll, nil
}
