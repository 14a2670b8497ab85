package field

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/gormfile/gormfile/storage"
)

// This file makes an image's renditions: the content is decoded while it streams to
// the storage, then each rendition is resampled, turned upright and encoded.
//
// Resampling uses golang.org/x/image/draw, the Go project's own imaging library, with
// its Catmull-Rom kernel for every rendition: the kernel widens with the reduction, so
// every source pixel counts and a big reduction does not alias, at a cost linear in the
// source's pixels, which the field's pixel limit bounds. ApproxBiLinear is faster but
// samples only four pixels per output pixel, which turns fine detail (the text and
// ports of a device panel) into noise once the image shrinks more than about twice.

// renditionJPEGQuality is the quality of renditions encoded as JPEG.
const renditionJPEGQuality = 85

// decodeImage decodes the first image of r in a format ReadImageHeader names.
func decodeImage(format string, r io.Reader) (m image.Image, err error) {
	defer func() {
		// A decoder is not expected to panic, but hostile input is its daily bread:
		// a panic becomes a decode error rather than a crashed program.
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("%s decoder panicked: %v", format, p)
		}
	}()
	switch format {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "gif":
		return gif.Decode(r)
	case "webp":
		return webp.Decode(r)
	case "bmp":
		return bmp.Decode(r)
	case "tiff":
		return tiff.Decode(r)
	}
	return nil, fmt.Errorf("no decoder for %s", format)
}

// streamDecoder decodes what is written to it in a goroutine of its own. After the
// image is decoded it reads and drops the rest, so that writes never block for good.
type streamDecoder struct {
	pw   *io.PipeWriter
	done chan struct{}

	// Set by the goroutine before done is closed.
	img image.Image
	err error
	// upstream is set when the pipe returned the error of the upload side: the
	// decoder stopped because the upload did, not because of the image.
	upstream bool
}

func newStreamDecoder(format string) *streamDecoder {
	pr, pw := io.Pipe()
	d := &streamDecoder{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		src := &pipeSource{r: pr}
		d.img, d.err = decodeImage(format, src)
		if d.err != nil {
			d.upstream = src.failed
			pr.CloseWithError(fmt.Errorf("field: decoding the %s image: %w", format, d.err))
			return
		}
		io.Copy(io.Discard, src)
		d.upstream = src.failed
	}()
	return d
}

// finish tells the decoder the upload ended, with err nil when it ended well, and
// waits for the decoder.
func (d *streamDecoder) finish(err error) {
	d.pw.CloseWithError(err)
	<-d.done
}

// pipeSource reads a pipe and notes whether it returned another error than io.EOF.
type pipeSource struct {
	r      io.Reader
	failed bool
}

func (p *pipeSource) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.failed = true
	}
	return n, err
}

// decodeTee passes the content read from r to a decoder as well, and tells the
// decoder how the content ended.
type decodeTee struct {
	r io.Reader
	d *streamDecoder
}

func (t *decodeTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.d.pw.Write(p[:n]); werr != nil {
			return n, werr // the decoder failed: stop the upload
		}
	}
	switch {
	case err == io.EOF:
		t.d.pw.Close()
	case err != nil:
		t.d.pw.CloseWithError(err)
	}
	return n, err
}

// saveWithRenditions streams the image to the storage while decoding it, then saves
// its renditions. It returns the key of the original and those of the renditions; on
// failure it leaves none of them.
func (img *Image) saveWithRenditions(ctx context.Context, sc *SaveContext, r io.Reader,
	info ImageInfo) (string, []string, error) {
	up := img.pending()
	dec := newStreamDecoder(info.Format)
	key, err := img.store(ctx, sc, &decodeTee{r: r, d: dec}, info.ContentType)
	dec.finish(err)

	if dec.err != nil && !dec.upstream {
		ie := up.refuse(sc, []string{fmt.Sprintf("the %s data cannot be decoded for its "+
			"renditions: %v", info.Format, dec.err)},
			fmt.Errorf("field: %s: decoding %s: %w: %w", sc.Field, info.Format, ErrCorrupt,
				dec.err))
		if err == nil {
			return "", nil, withCleanup(ie, deleteObjects(ctx, sc.Storage, key))
		}
		return "", nil, ie
	}
	if err != nil {
		return "", nil, err
	}

	m := screen(dec.img, info)
	var written []string
	for _, r := range sc.Settings.Renditions {
		k, err := saveRendition(ctx, sc.Storage, key, m, info.Orientation, r)
		if err != nil {
			err = fmt.Errorf("field: %s: rendition %s of %s: %w", sc.Field, r.Name, key, err)
			return "", nil, withCleanup(err, deleteObjects(ctx, sc.Storage,
				append(written, key)...))
		}
		written = append(written, k)
	}
	return key, written, nil
}

// screen returns a GIF's first frame on its logical screen, when the frame covers
// only part of it; other images as they are.
func screen(m image.Image, info ImageInfo) image.Image {
	full := image.Rect(0, 0, info.Width, info.Height)
	if info.Format != "gif" || m.Bounds() == full {
		return m
	}
	canvas := image.NewRGBA(full)
	draw.Draw(canvas, m.Bounds(), m, m.Bounds().Min, draw.Src)
	return canvas
}

// saveRendition resamples m (stored with the EXIF orientation given) for r, encodes
// it and saves it under RenditionKey(key, r.Name), replacing a stale rendition left
// there (the original's key was free, so nothing else can own it). It returns the key
// written.
func saveRendition(ctx context.Context, st storage.Storage, key string, m image.Image,
	orientation int, r Rendition) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	want := RenditionKey(key, r.Name)
	asJPEG := strings.HasSuffix(want, ".jpg")
	small := renderRendition(m, orientation, r, asJPEG)
	ctype := "image/png"
	if asJPEG {
		ctype = "image/jpeg"
	}

	pr, pw := io.Pipe()
	encoded := make(chan struct{})
	go func() {
		defer close(encoded)
		if asJPEG {
			pw.CloseWithError(jpeg.Encode(pw, small, &jpeg.Options{
				Quality: renditionJPEGQuality}))
		} else {
			pw.CloseWithError(png.Encode(pw, small))
		}
	}()
	got, err := st.Save(ctx, want, pr, &storage.SaveOptions{ContentType: ctype,
		Overwrite: true})
	pr.CloseWithError(io.ErrClosedPipe) // stops the encoder if Save stopped early
	<-encoded
	if err != nil {
		return "", err
	}
	if got != want {
		err := fmt.Errorf("key %s is taken (the storage wrote %s): %w", want, got,
			storage.ErrExist)
		return "", withCleanup(err, deleteObjects(ctx, st, got))
	}
	return got, nil
}

// renderRendition returns m scaled to fit r's box, upright. The result is opaque on a
// white ground when opaque is set, for formats without transparency.
func renderRendition(m image.Image, orientation int, r Rendition, opaque bool) *image.RGBA {
	src := m.Bounds()
	w, h := src.Dx(), src.Dy()
	if orientation >= 5 {
		w, h = h, w
	}
	w, h = fitBox(w, h, r.Width, r.Height)
	if orientation >= 5 {
		w, h = h, w
	}

	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if opaque {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	if w == src.Dx() && h == src.Dy() {
		draw.Draw(dst, dst.Bounds(), m, src.Min, op)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), m, src, op, nil)
	}
	return orient(dst, orientation)
}

// fitBox returns the size of a w×h image scaled to fit inside bw×bh, keeping its
// proportions and never enlarged; a zero bound leaves that side free.
func fitBox(w, h, bw, bh int) (int, int) {
	scale := 1.0
	if bw > 0 {
		scale = min(scale, float64(bw)/float64(w))
	}
	if bh > 0 {
		scale = min(scale, float64(bh)/float64(h))
	}
	if scale >= 1 {
		return w, h
	}
	return max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
}

// orient turns an image stored with an EXIF orientation (1 to 8) upright.
func orient(m *image.RGBA, orientation int) *image.RGBA {
	if orientation <= 1 || orientation > 8 {
		return m
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ow, oh := w, h
	if orientation >= 5 {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch orientation {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // turned half a turn
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored top to bottom
				dx, dy = x, h-1-y
			case 5: // mirrored along the main diagonal
				dx, dy = y, x
			case 6: // to be turned a quarter clockwise
				dx, dy = h-1-y, x
			case 7: // mirrored along the other diagonal
				dx, dy = h-1-y, w-1-x
			case 8: // to be turned a quarter counter-clockwise
				dx, dy = y, w-1-x
			}
			si := m.PixOffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)
			di := out.PixOffset(dx, dy)
			copy(out.Pix[di:di+4], m.Pix[si:si+4])
		}
	}
	return out
}
