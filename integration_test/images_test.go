package integration_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/field"
)

// Photo has an image with a thumbnail and rules.
type Photo struct {
	ID    uint
	Title string
	Image field.Image `file:"upload_to:photos;renditions:thumb=200x200;max_width:2000"`
}

// Badge has rules that the panel images break.
type Badge struct {
	ID    uint
	Image field.Image `file:"upload_to:badges;max_width:1000;min_height:300;renditions:thumb=64x64"`
}

// Icon accepts images of at most 5000 bytes.
type Icon struct {
	ID    uint
	Image field.Image `file:"upload_to:icons;max_bytes:5000;renditions:thumb=32x32"`
}

func openImage(t *testing.T, path string) field.Image {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return field.NewImage(bytes.NewReader(raw), path[strings.LastIndexByte(path, '/')+1:])
}

// decodedSize decodes an image and returns its format and size.
func decodedSize(t *testing.T, b []byte) (string, int, int) {
	t.Helper()
	m, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return format, m.Bounds().Dx(), m.Bounds().Dy()
}

func sortedObjects(t *testing.T, e *env) []string {
	keys := objects(t, e.store)
	slices.Sort(keys)
	return keys
}

func TestImageRenditionsLifecycle(t *testing.T) {
	const (
		front      = "photos/front-panel.png"
		frontThumb = "photos/front-panel.png@thumb.png"
		rear       = "photos/rear-panel.jpg"
		rearThumb  = "photos/rear-panel.jpg@thumb.jpg"
	)
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()

		// Create: the original and its thumbnail land.
		p := &Photo{Title: "panel", Image: openImage(t, "testdata/front-panel.png")}
		if err := e.db.Create(p).Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); !slices.Equal(got, []string{front, frontThumb}) {
			t.Fatalf("after create: objects %v", got)
		}
		a, err := e.store.Stat(ctx, frontThumb)
		if err != nil || a.ContentType != "image/png" {
			t.Errorf("thumbnail: %+v, %v", a, err)
		}

		// A loaded row reaches its thumbnail by URL.
		var row Photo
		if err := e.db.First(&row, p.ID).Error; err != nil {
			t.Fatal(err)
		}
		url, err := row.Image.URL(ctx, "thumb")
		if err != nil {
			t.Fatal(err)
		}
		served := e.fetch(t, url)
		if !bytes.Equal(served, content(t, e.store, frontThumb)) {
			t.Errorf("GET %s does not serve the thumbnail", url)
		}
		if format, w, h := decodedSize(t, served); format != "png" || w != 200 || h != 37 {
			t.Errorf("thumbnail is a %dx%d %s, want a 200x37 png", w, h, format)
		}
		if _, err := row.Image.URL(ctx, "card"); err == nil {
			t.Error("URL of an undeclared rendition gave no error")
		}

		// Replace: the old pair stays until the commit, then goes.
		tx := e.db.Begin()
		if err := tx.First(&row, p.ID).Error; err != nil {
			t.Fatal(err)
		}
		row.Image = openImage(t, "testdata/rear-panel.jpg")
		if err := tx.Save(&row).Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); !slices.Equal(got,
			[]string{front, frontThumb, rear, rearThumb}) {
			t.Errorf("inside the replacing transaction: objects %v", got)
		}
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); !slices.Equal(got, []string{rear, rearThumb}) {
			t.Errorf("after replace: objects %v", got)
		}
		if format, w, h := decodedSize(t, content(t, e.store, rearThumb)); format != "jpeg" ||
			w != 200 || h != 37 {
			t.Errorf("new thumbnail is a %dx%d %s, want a 200x37 jpeg", w, h, format)
		}
		url, err = row.Image.URL(ctx, "thumb")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.fetch(t, url), content(t, e.store, rearThumb)) {
			t.Error("the new thumbnail's URL serves other bytes")
		}

		// Delete: both go.
		if err := e.db.Delete(&row).Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); len(got) != 0 {
			t.Errorf("after delete: objects %v", got)
		}

		// Rollback: what the transaction uploaded goes.
		tx = e.db.Begin()
		if err := tx.Create(&Photo{Image: openImage(t, "testdata/front-panel.png")}).Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); len(got) != 2 {
			t.Errorf("inside the transaction: objects %v", got)
		}
		if err := tx.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); len(got) != 0 {
			t.Errorf("after rollback: objects %v", got)
		}
		var n int64
		e.db.Model(&Photo{}).Count(&n)
		if n != 0 {
			t.Errorf("%d rows left", n)
		}
	}, &Photo{})
}

func TestImageRenditionFailureLeavesNothing(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// A stale thumbnail, whose image is gone, is replaced by the new image's.
		const stale = "photos/small.gif@thumb.png"
		if _, err := e.store.Save(ctx, stale, strings.NewReader("stale"), nil); err != nil {
			t.Fatal(err)
		}
		p := &Photo{Image: openImage(t, "testdata/small.gif")}
		if err := e.db.Create(p).Error; err != nil {
			t.Fatal(err)
		}
		if got := sortedObjects(t, e); !slices.Equal(got, []string{"photos/small.gif", stale}) {
			t.Errorf("objects %v, want the image and its thumbnail", got)
		}
		if string(content(t, e.store, stale)) == "stale" {
			t.Error("the stale thumbnail was kept")
		}
		if err := e.db.Delete(p).Error; err != nil {
			t.Fatal(err)
		}

		// Broken rules: refused before anything is written, every rule listed.
		err := e.db.Create(&Badge{Image: openImage(t, "testdata/front-panel.png")}).Error
		var ie *field.ImageError
		want := []string{"width 1200 is more than max_width 1000",
			"height 220 is less than min_height 300"}
		if !errors.As(err, &ie) || ie.Field != "Image" || !slices.Equal(ie.Problems, want) {
			t.Errorf("err = %v, want an *field.ImageError with problems %q", err, want)
		}
		// max_bytes of a stream of unknown size: the upload fails once it passes the
		// bound, and leaves no object.
		err = e.db.Create(&Icon{Image: openImage(t, "testdata/front-panel.png")}).Error
		if !errors.As(err, &ie) || !errors.Is(err, field.ErrTooLarge) {
			t.Errorf("err = %v, want an *field.ImageError for max_bytes", err)
		}
		var badges, icons int64
		e.db.Model(&Badge{}).Count(&badges)
		e.db.Model(&Icon{}).Count(&icons)
		if got := sortedObjects(t, e); badges != 0 || icons != 0 || len(got) != 0 {
			t.Errorf("%d badges, %d icons, objects %v", badges, icons, got)
		}
	}, &Photo{}, &Badge{}, &Icon{})
}

func TestCheckFindsMissingRendition(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := &Photo{Image: openImage(t, "testdata/small.gif")}
		if err := e.db.Create(p).Error; err != nil {
			t.Fatal(err)
		}
		thumb := field.RenditionKey(p.Image.Key(), "thumb")
		if err := e.store.Delete(ctx, thumb); err != nil {
			t.Fatal(err)
		}
		var missing []gormfile.MissingFile
		res, err := gormfile.PluginOf(e.db).Check(ctx, e.db, []any{&Photo{}},
			&gormfile.CheckOptions{Missing: func(m gormfile.MissingFile) {
				missing = append(missing, m)
			}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Missing != 1 || len(missing) != 1 || missing[0].Key != thumb ||
			missing[0].Rendition != "thumb" {
			t.Errorf("check: %+v, missing %+v; want the thumbnail %s", res, missing, thumb)
		}
	}, &Photo{})
}
