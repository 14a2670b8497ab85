package field

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/memstore"
)

// saveImage saves content as an Image named name, in st, with the settings of tag.
func saveImage(t *testing.T, st storage.Storage, tag, name string, r io.Reader,
	size int64) (Image, error) {
	t.Helper()
	settings, err := ParseSettings(tag, 0)
	if err != nil {
		t.Fatal(err)
	}
	img := NewImage(r, name)
	if size >= 0 {
		img = img.WithSize(size)
	}
	err = img.Save(context.Background(), &SaveContext{
		Storage: st, Settings: settings, Field: "Front", Now: time.Now(),
	})
	return img, err
}

// readObject returns an object's bytes and attributes.
func readObject(t *testing.T, st storage.Storage, key string) ([]byte, *storage.Attributes) {
	t.Helper()
	ctx := context.Background()
	a, err := st.Stat(ctx, key)
	if err != nil {
		t.Fatalf("stat %s: %v", key, err)
	}
	r, err := st.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b, a
}

func encodeWith(t *testing.T, m image.Image, enc func(io.Writer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gradient is a w×h opaque image.
func gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	return m
}

func TestRenditions(t *testing.T) {
	fixture := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b, err := os.ReadFile("testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	generated := func(enc func(io.Writer, image.Image) error, w, h int) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return encodeWith(t, gradient(w, h), enc) }
	}
	type want struct {
		name, ctype   string
		width, height int
	}
	tests := []struct {
		name    string
		content func(t *testing.T) []byte
		client  string
		tag     string
		want    []want
	}{
		{"png, two renditions", fixture("front-panel.png"), "front.png",
			"renditions:thumb=200x200,card=600x0",
			[]want{{"thumb", "image/png", 200, 37}, {"card", "image/png", 600, 110}}},
		{"jpeg", fixture("rear-panel.jpg"), "rear.jpg", "renditions:thumb=200x200",
			[]want{{"thumb", "image/jpeg", 200, 37}}},
		{"jpeg turned by EXIF 6", fixture("orientation-6.jpg"), "phone.JPEG",
			"renditions:thumb=200x200", []want{{"thumb", "image/jpeg", 100, 200}}},
		{"webp with alpha", fixture("alpha-vp8x.webp"), "logo.webp",
			"renditions:thumb=200x200", []want{{"thumb", "image/png", 200, 150}}},
		{"gif", fixture("small.gif"), "small.gif", "renditions:thumb=200x200",
			[]want{{"thumb", "image/png", 200, 37}}},
		{"bmp", generated(bmp.Encode, 300, 100), "scan.bmp",
			"formats:bmp;renditions:tall=0x50", []want{{"tall", "image/png", 150, 50}}},
		{"tiff", generated(func(w io.Writer, m image.Image) error {
			return tiff.Encode(w, m, nil)
		}, 100, 300), "scan.tiff", "formats:tiff;renditions:wide=20x0",
			[]want{{"wide", "image/png", 20, 60}}},
		{"never enlarged", generated(png.Encode, 50, 30), "tiny.png",
			"renditions:thumb=200x200", []want{{"thumb", "image/png", 50, 30}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New(nil)
			raw := tt.content(t)
			settings, err := ParseSettings("upload_to:img;"+tt.tag, 0)
			if err != nil {
				t.Fatal(err)
			}
			img := NewImage(bytes.NewReader(raw), tt.client)
			err = img.Save(context.Background(), &SaveContext{
				Storage: st, Settings: settings, Field: "Front", Now: time.Now(),
			})
			if err != nil {
				t.Fatal(err)
			}
			key := img.Key()
			var wantKeys []string
			for _, w := range tt.want {
				wantKeys = append(wantKeys, RenditionKey(key, w.name))
			}
			if got := img.RenditionKeys(); !slices.Equal(got, wantKeys) {
				t.Errorf("RenditionKeys() = %v, want %v", got, wantKeys)
			}
			if got, _ := readObject(t, st, key); !bytes.Equal(got, raw) {
				t.Error("stored original differs from the content")
			}
			if st.Len() != 1+len(tt.want) {
				t.Errorf("%d objects, want %d", st.Len(), 1+len(tt.want))
			}

			img.Bind(&Binding{Storage: st, Settings: settings})
			for _, w := range tt.want {
				rkey := RenditionKey(key, w.name)
				body, attrs := readObject(t, st, rkey)
				if attrs.ContentType != w.ctype {
					t.Errorf("%s: content type %q, want %q", w.name, attrs.ContentType, w.ctype)
				}
				m, format, err := image.Decode(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				if "image/"+format != w.ctype {
					t.Errorf("%s: encoded as %s, want %s", w.name, format, w.ctype)
				}
				if b := m.Bounds(); b.Dx() != w.width || b.Dy() != w.height {
					t.Errorf("%s: %dx%d, want %dx%d", w.name, b.Dx(), b.Dy(), w.width, w.height)
				}
				url, err := img.URL(context.Background(), w.name)
				if err != nil || url != "/media/"+rkey {
					t.Errorf("URL(%q) = %q, %v; want /media/%s", w.name, url, err, rkey)
				}
			}
		})
	}
}

func TestRenditionKeepsTransparency(t *testing.T) {
	raw, err := os.ReadFile("testdata/alpha-vp8x.webp")
	if err != nil {
		t.Fatal(err)
	}
	src, err := webp.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New(nil)
	img, err := saveImage(t, st, "renditions:thumb=160x0", "logo.webp",
		bytes.NewReader(raw), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := readObject(t, st, RenditionKey(img.Key(), "thumb"))
	m, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ sx, sy, x, y int }{{0, 0, 0, 0}, {160, 120, 80, 60}} {
		_, _, _, wantA := src.At(p.sx, p.sy).RGBA()
		if _, _, _, a := m.At(p.x, p.y).RGBA(); a>>8 != wantA>>8 {
			t.Errorf("alpha at (%d,%d) = %d, source's at (%d,%d) = %d", p.x, p.y, a>>8,
				p.sx, p.sy, wantA>>8)
		}
	}
}

// cornerJPEG is a 400×200 JPEG, blue, with a red block at its stored top left and a
// green one at its stored top right, and the EXIF orientation o (none when 0).
func cornerJPEG(t *testing.T, o int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, 400, 200))
	for y := range 200 {
		for x := range 400 {
			c := color.RGBA{0, 0, 255, 255}
			switch {
			case x < 80 && y < 80:
				c = color.RGBA{255, 0, 0, 255}
			case x >= 320 && y < 80:
				c = color.RGBA{0, 255, 0, 255}
			}
			m.Set(x, y, c)
		}
	}
	raw := encodeWith(t, m, func(w io.Writer, m image.Image) error {
		return jpeg.Encode(w, m, &jpeg.Options{Quality: 95})
	})
	if o == 0 {
		return raw
	}
	return insertAfterSOI(raw, jpegSegment(0xe1, exifPayload(binary.LittleEndian, o, 0, 0)))
}

func TestRenditionOrientation(t *testing.T) {
	type corner int
	const (
		topLeft corner = iota
		topRight
		bottomRight
		bottomLeft
	)
	// Where the stored top-left (red) and top-right (green) corners are shown.
	tests := []struct {
		orientation int
		red, green  corner
	}{
		{0, topLeft, topRight},
		{1, topLeft, topRight},
		{2, topRight, topLeft},
		{3, bottomRight, bottomLeft},
		{4, bottomLeft, bottomRight},
		{5, topLeft, bottomLeft},
		{6, topRight, bottomRight},
		{7, bottomRight, topRight},
		{8, bottomLeft, topLeft},
	}
	for _, tt := range tests {
		t.Run("orientation "+string(rune('0'+tt.orientation)), func(t *testing.T) {
			st := memstore.New(nil)
			img, err := saveImage(t, st, "renditions:thumb=100x100", "photo.jpg",
				bytes.NewReader(cornerJPEG(t, tt.orientation)), -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := readObject(t, st, RenditionKey(img.Key(), "thumb"))
			m, err := jpeg.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			w, h := 100, 50
			if tt.orientation >= 5 {
				w, h = 50, 100
			}
			if b := m.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("thumb %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
			}
			at := func(c corner) color.Color {
				x, y := 3, 3
				if c == topRight || c == bottomRight {
					x = w - 4
				}
				if c == bottomLeft || c == bottomRight {
					y = h - 4
				}
				return m.At(x, y)
			}
			for _, c := range []corner{topLeft, topRight, bottomRight, bottomLeft} {
				r, g, b, _ := at(c).RGBA()
				var want string
				switch c {
				case tt.red:
					want = "red"
				case tt.green:
					want = "green"
				default:
					want = "blue"
				}
				got := "other"
				switch {
				case r > 0xc000 && g < 0x4000 && b < 0x4000:
					got = "red"
				case g > 0xc000 && r < 0x4000 && b < 0x4000:
					got = "green"
				case b > 0xc000 && r < 0x4000 && g < 0x4000:
					got = "blue"
				}
				if got != want {
					t.Errorf("corner %d is %s (%x %x %x), want %s", c, got, r>>8, g>>8, b>>8,
						want)
				}
			}
		})
	}
}

func TestImageRules(t *testing.T) {
	front, err := os.ReadFile("testdata/front-panel.png") // 1200×220
	if err != nil {
		t.Fatal(err)
	}
	notImage, err := os.ReadFile("testdata/not-an-image.png")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		content  []byte
		tag      string
		withSize bool
		problems []string // each a part of one problem, in order; none: accepted
		is       []error
	}{
		{"every rule broken, size given", front,
			"formats:jpeg,gif;max_bytes:1000;min_width:1300;min_height:300",
			true, []string{
				"19014 bytes is more than max_bytes 1000",
				"format png is not accepted (accepted: jpeg, gif)",
				"width 1200 is less than min_width 1300",
				"height 220 is less than min_height 300",
			}, []error{ErrTooLarge}},
		{"maxima", front, "max_width:1000;max_height:200;max_pixels:1000", false, []string{
			"1200×220 pixels is more than the limit of 1000",
			"width 1200 is more than max_width 1000",
			"height 220 is more than max_height 200",
		}, nil},
		{"not an image, too large", notImage, "max_bytes:10", true, []string{
			"41 bytes is more than max_bytes 10", "not an image",
		}, []error{ErrTooLarge, ErrNotImage}},
		{"max_bytes while streaming", front, "max_bytes:5000", false, []string{
			"more than max_bytes 5000 bytes",
		}, []error{ErrTooLarge}},
		{"max_bytes while streaming, with renditions", front,
			"max_bytes:5000;renditions:thumb=20x20", false, []string{
				"more than max_bytes 5000 bytes",
			}, []error{ErrTooLarge}},
		{"max_bytes exactly, streaming", front, "max_bytes:19014;renditions:t=20x0",
			false, nil, nil},
		{"max_bytes exactly, size given", front, "max_bytes:19014", true, nil, nil},
		{"within bounds", front,
			"min_width:1200;max_width:1200;min_height:220;max_height:220", false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New(nil)
			n := int64(-1)
			if tt.withSize {
				n = int64(len(tt.content))
			}
			// A reader that cannot seek or tell its size: the content streams.
			r := io.MultiReader(bytes.NewReader(tt.content))
			img, err := saveImage(t, st, tt.tag, "front.png", r, n)
			if len(tt.problems) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !storageHas(t, st, img.Key()) {
					t.Error("accepted image not stored")
				}
				return
			}
			var ie *ImageError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ImageError", err)
			}
			if ie.Field != "Front" || ie.Name != "front.png" {
				t.Errorf("field %q, name %q", ie.Field, ie.Name)
			}
			if len(ie.Problems) != len(tt.problems) {
				t.Fatalf("problems %q, want %d: %q", ie.Problems, len(tt.problems), tt.problems)
			}
			for i, p := range tt.problems {
				if !strings.Contains(ie.Problems[i], p) {
					t.Errorf("problem %d is %q, want it to say %q", i, ie.Problems[i], p)
				}
			}
			if ie.Reason != strings.Join(ie.Problems, "; ") {
				t.Errorf("reason %q", ie.Reason)
			}
			for _, want := range tt.is {
				if !errors.Is(err, want) {
					t.Errorf("errors.Is(err, %v) is false: %v", want, err)
				}
			}
			if keys := storageKeys(t, st); len(keys) != 0 {
				t.Errorf("objects left: %v", keys)
			}
		})
	}
}

func storageHas(t *testing.T, st storage.Storage, key string) bool {
	t.Helper()
	ok, err := storage.Exists(context.Background(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func storageKeys(t *testing.T, st storage.Storage) []string {
	t.Helper()
	var keys []string
	err := st.List(context.Background(), "", func(a *storage.Attributes) error {
		keys = append(keys, a.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// failingStore fails its failAt-th Save, counting from 1, and the following ones.
type failingStore struct {
	storage.Storage
	failAt int
	saves  int
}

var errStoreDown = errors.New("storage down")

func (s *failingStore) Save(ctx context.Context, key string, r io.Reader,
	opts *storage.SaveOptions) (string, error) {
	s.saves++
	if s.saves >= s.failAt {
		io.CopyN(io.Discard, r, 100) // read a little first, as a real upload does
		return "", &storage.Error{Backend: "test", Op: "save", Key: key, Err: errStoreDown}
	}
	return s.Storage.Save(ctx, key, r, opts)
}

// corruptIDAT is front-panel.png with a byte of its pixel data changed.
func corruptIDAT(t *testing.T) []byte {
	raw, err := os.ReadFile("testdata/front-panel.png")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte("IDAT"))
	if i < 0 {
		t.Fatal("no IDAT")
	}
	out := slices.Clone(raw)
	for j := i + 4; j < i+4+64 && j < len(out); j++ {
		out[j] ^= 0x5a
	}
	return out
}

func TestFailedRenditionLeavesNothing(t *testing.T) {
	front, err := os.ReadFile("testdata/front-panel.png")
	if err != nil {
		t.Fatal(err)
	}
	truncated, err := os.ReadFile("testdata/truncated.png")
	if err != nil {
		t.Fatal(err)
	}
	bomb, err := os.ReadFile("testdata/bomb-20000x20000.png")
	if err != nil {
		t.Fatal(err)
	}
	const two = "upload_to:img;renditions:thumb=200x200,card=600x0"
	tests := []struct {
		name    string
		content []byte
		size    int64
		failAt  int      // the Save that fails; 0: none
		taken   []string // keys stored before
		is      error
		refused bool // an *ImageError
	}{
		{"original fails", front, -1, 1, nil, errStoreDown, false},
		{"first rendition fails", front, -1, 2, nil, errStoreDown, false},
		{"second rendition fails", front, -1, 3, nil, errStoreDown, false},
		{"truncated pixel data", truncated, -1, 0, nil, ErrCorrupt, true},
		{"corrupt pixel data", corruptIDAT(t), -1, 0, nil, ErrCorrupt, true},
		{"content shorter than its size", front, int64(len(front)) + 10, 0, nil,
			ErrSizeMismatch, false},
		{"pixel bomb, refused before decoding", bomb, -1, 0, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goroutines := runtime.NumGoroutine()
			mem := memstore.New(nil)
			for _, k := range tt.taken {
				if _, err := mem.Save(context.Background(), k, strings.NewReader("x"),
					nil); err != nil {
					t.Fatal(err)
				}
			}
			var st storage.Storage = mem
			if tt.failAt > 0 {
				st = &failingStore{Storage: mem, failAt: tt.failAt}
			}
			img, err := saveImage(t, st, two, "front.png", io.MultiReader(
				bytes.NewReader(tt.content)), tt.size)
			if err == nil {
				t.Fatal("save succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			var ie *ImageError
			if errors.As(err, &ie) != tt.refused {
				t.Errorf("err = %v (%T), *ImageError: %v", err, err, tt.refused)
			}
			if keys := storageKeys(t, mem); !slices.Equal(keys, tt.taken) {
				t.Errorf("objects %v, want %v", keys, tt.taken)
			}
			if img.Key() != "" || img.RenditionKeys() != nil || !img.Pending() {
				t.Errorf("after a failed save: key %q, renditions %v, pending %v", img.Key(),
					img.RenditionKeys(), img.Pending())
			}
			// No decoder or encoder is left waiting.
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines {
				t.Errorf("%d goroutines, %d before", n, goroutines)
			}
		})
	}
}

func TestFitBox(t *testing.T) {
	tests := []struct{ w, h, bw, bh, wantW, wantH int }{
		{1200, 220, 200, 200, 200, 37},
		{200, 400, 200, 200, 100, 200},
		{1200, 220, 600, 0, 600, 110},
		{1200, 220, 0, 44, 240, 44},
		{50, 30, 200, 200, 50, 30},
		{10000, 1, 100, 100, 100, 1},
		{300, 300, 200, 200, 200, 200},
	}
	for _, tt := range tests {
		w, h := fitBox(tt.w, tt.h, tt.bw, tt.bh)
		if w != tt.wantW || h != tt.wantH {
			t.Errorf("fitBox(%d, %d, %d, %d) = %d, %d; want %d, %d", tt.w, tt.h, tt.bw, tt.bh,
				w, h, tt.wantW, tt.wantH)
		}
	}
}
