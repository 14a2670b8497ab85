package integration_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/gormfile/gormfile"
)

// An update that writes a key the plugin cannot keep consistent with the storage is
// refused, and leaves rows and objects as they were.

func TestRefusedKeys(t *testing.T) {
	cases := []struct {
		name string
		// statFails makes every storage Stat fail while the update runs.
		statFails bool
		run       func(db *gorm.DB) error
		// want are the errors the update's error wraps; nil: the update succeeds.
		want []error
		// wantText is a part of the error's text.
		wantText string
	}{{
		name: "update-missing-key",
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Where("name = ?", "b").Update("file", "items/gone.bin").
				Error
		},
		want: []error{gormfile.ErrKeyRefused, fs.ErrNotExist},
	}, {
		name: "update-column-missing-key",
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Where("name = ?", "b").
				UpdateColumn("file", "items/gone.bin").Error
		},
		want: []error{gormfile.ErrKeyRefused, fs.ErrNotExist},
	}, {
		name: "updates-map-missing-key",
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Where("name = ?", "b").
				Updates(map[string]any{"name": "b2", "file": "items/gone.bin"}).Error
		},
		want: []error{gormfile.ErrKeyRefused, fs.ErrNotExist},
	}, {
		name: "create-map-missing-key",
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Create(map[string]any{"name": "c", "file": "items/gone.bin"}).
				Error
		},
		want: []error{gormfile.ErrKeyRefused, fs.ErrNotExist},
	}, {
		// A note would share the item's object: deleting the item, or a sweep of
		// items/, would remove what the note names.
		name: "key-of-another-column",
		run: func(db *gorm.DB) error {
			return db.Model(&Note{}).Where("name = ?", "n").Update("file", "items/a.bin").Error
		},
		want:     []error{gormfile.ErrKeyRefused},
		wantText: `outside upload_to "notes/"`,
	}, {
		// When the storage cannot tell, the key is refused too.
		name:      "stat-fails",
		statFails: true,
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Where("name = ?", "b").Update("file", "items/a.bin").Error
		},
		want: []error{errInjected},
	}, {
		name: "sql-expression",
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Where("name = ?", "b").Update("file", gorm.Expr("name")).
				Error
		},
		wantText: "a file column takes",
	}, {
		name: "existing-key-accepted",
		run: func(db *gorm.DB) error {
			return db.Model(&Item{}).Where("name = ?", "b").Update("file", "items/a.bin").Error
		},
	}}
	for _, cb := range combos() {
		t.Run(cb.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := newCase(t, cb)
					c.mkItem("a", "a.bin")
					c.mkItem("b", "b.bin")
					c.mkNote("n", "n.txt")
					before := c.snapshot()
					if tc.statFails {
						c.store.failNth(opStat, 0)
					}
					err := tc.run(c.db)
					c.store.heal()

					refused := tc.want != nil || tc.wantText != ""
					switch {
					case !refused && err != nil:
						t.Fatalf("refused: %v", err)
					case !refused:
						c.wantItem("b", "a.bin")
					case err == nil:
						t.Fatal("not refused")
					default:
						for _, w := range tc.want {
							if !errors.Is(err, w) {
								t.Errorf("error %q does not wrap %v", err, w)
							}
						}
						if !strings.Contains(err.Error(), tc.wantText) {
							t.Errorf("error %q does not say %q", err, tc.wantText)
						}
						if after := c.snapshot(); after != before {
							t.Errorf("rows changed:\nbefore:\n%safter:\n%s", before, after)
						}
					}
					c.invariants(false)
				})
			}
		})
	}
}
