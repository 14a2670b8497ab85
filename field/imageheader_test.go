package field

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes its reader gave.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readHeader runs ReadImageHeader on data and returns how many bytes it consumed.
func readHeader(data []byte) (ImageInfo, int64, error) {
	cr := &countingReader{r: bytes.NewReader(data)}
	info, err := ReadImageHeader(cr)
	return info, cr.n, err
}

// stdlibSize returns the stored size image.DecodeConfig reads, for PNG, JPEG and GIF.
func stdlibSize(t *testing.T, data []byte) (int, int) {
	t.Helper()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image.DecodeConfig: %v", err)
	}
	return cfg.Width, cfg.Height
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadImageHeaderFixtures(t *testing.T) {
	tests := []struct {
		file        string
		format      string
		orientation int
		// stdlib: the stored size is checked against image.DecodeConfig; otherwise
		// against width and height, found with golang.org/x/image/webp v0.48.0.
		stdlib        bool
		width, height int
	}{
		{file: "front-panel.png", format: "png", stdlib: true},
		{file: "bomb-20000x20000.png", format: "png", stdlib: true, width: 20000, height: 20000},
		// Its pixel data is cut short, but its header is whole: only a decoder sees
		// the difference.
		{file: "truncated.png", format: "png", stdlib: true},
		{file: "rear-panel.jpg", format: "jpeg", stdlib: true},
		{file: "orientation-1.jpg", format: "jpeg", orientation: 1, stdlib: true,
			width: 400, height: 200},
		{file: "orientation-6.jpg", format: "jpeg", orientation: 6, stdlib: true,
			width: 200, height: 400},
		{file: "small.gif", format: "gif", stdlib: true},
		{file: "front-panel-lossy.webp", format: "webp", width: 1200, height: 220},
		{file: "alpha-vp8x.webp", format: "webp", width: 320, height: 240},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readTestdata(t, tt.file)
			info, n, err := readHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			wantW, wantH := tt.width, tt.height
			if tt.stdlib {
				w, h := stdlibSize(t, data)
				if tt.orientation >= 5 {
					w, h = h, w
				}
				if wantW != 0 && (w != wantW || h != wantH) {
					t.Fatalf("image.DecodeConfig: %dx%d, the table says %dx%d", w, h,
						wantW, wantH)
				}
				wantW, wantH = w, h
			}
			orientation := max(tt.orientation, 1)
			want := ImageInfo{Format: tt.format, Width: wantW, Height: wantH,
				Orientation: orientation, ContentType: "image/" + tt.format}
			if info != want {
				t.Errorf("got %+v, want %+v", info, want)
			}
			if n > 64<<10 {
				t.Errorf("consumed %d bytes of a %d-byte file", n, len(data))
			}
		})
	}
}

func TestReadImageHeaderNotImage(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"text fixture", readTestdata(t, "not-an-image.png")},
		{"svg fixture", readTestdata(t, "svg-as.png")},
		{"empty", nil},
		{"one byte", []byte{0x89}},
		{"html", []byte("<!DOCTYPE html><html><body>hi</body></html>")},
		{"svg with xml prolog", []byte(`<?xml version="1.0"?><svg width="10" height="10"/>`)},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")},
		{"png look-alike", []byte("\x89PNG is how a PNG file starts, this is text.")},
		{"gif look-alike", []byte("GIF8 is a fine name for a text file")},
		{"text starting with BM", []byte("BMW sells cars, not bitmaps.")},
		{"RIFF WAVE", []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00")},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, _, err := readHeader(tt.data)
			if !errors.Is(err, ErrNotImage) {
				t.Fatalf("got %+v, %v; want ErrNotImage", info, err)
			}
		})
	}
}

func TestReadImageHeaderUnsupported(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")},
		{"bigtiff", []byte("II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, _, err := readHeader(tt.data)
			if !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("got %+v, %v; want ErrUnsupportedFormat", info, err)
			}
		})
	}
}

// generated is an image built by a test, with what ReadImageHeader must report and how
// many bytes it may consume.
type generated struct {
	name          string
	data          []byte
	format        string
	width, height int // as displayed
	orientation   int
	consumed      int64 // the exact header length; 0 to skip the check
	stdlib        bool  // the stored size is checked against image.DecodeConfig too
}

// generatedImages builds images of every format and variant ReadImageHeader reads.
func generatedImages(t testing.TB) []generated {
	t.Helper()
	var out []generated
	add := func(g generated) { out = append(out, g) }

	// PNG: 16-bit, gray 16-bit, paletted, interlaced.
	add(generated{name: "png 16-bit RGBA", data: encodePNG(t, image.NewNRGBA64(
		image.Rect(0, 0, 37, 11))), format: "png", width: 37, height: 11, consumed: 33,
		stdlib: true})
	add(generated{name: "png 16-bit gray", data: encodePNG(t, image.NewGray16(
		image.Rect(0, 0, 5, 300))), format: "png", width: 5, height: 300, consumed: 33,
		stdlib: true})
	add(generated{name: "png paletted", data: encodePNG(t, image.NewPaletted(
		image.Rect(0, 0, 9, 2), color.Palette{color.Black, color.White})),
		format: "png", width: 9, height: 2, consumed: 33, stdlib: true})
	add(generated{name: "png interlaced", data: interlacedPNG(t, 13, 7), format: "png",
		width: 13, height: 7, consumed: 33, stdlib: true})

	// JPEG from the standard encoder, with and without EXIF.
	std := encodeJPEG(t, 64, 24)
	sofAt := int64(bytes.Index(std, []byte{0xff, 0xc0}))
	add(generated{name: "jpeg baseline", data: std, format: "jpeg", width: 64, height: 24,
		consumed: sofAt + 10, stdlib: true})
	for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		for o := 1; o <= 8; o++ {
			w, h := 64, 24
			if o >= 5 {
				w, h = h, w
			}
			app1 := jpegSegment(0xe1, exifPayload(order, o, 0, 0))
			data := insertAfterSOI(std, app1)
			add(generated{name: "jpeg exif " + order.String() + " orientation " + strconv.Itoa(o),
				data: data, format: "jpeg", width: w, height: h, orientation: o,
				consumed: sofAt + int64(len(app1)) + 10, stdlib: true})
		}
	}
	// A 60 KiB EXIF block, its directory far into the block, after an XMP APP1.
	big := jpegSegment(0xe1, exifPayload(binary.LittleEndian, 6, 30<<10, 30<<10))
	xmp := jpegSegment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))
	data := insertAfterSOI(std, append(append([]byte{}, xmp...), big...))
	add(generated{name: "jpeg 60 KiB exif after xmp", data: data, format: "jpeg", width: 24,
		height: 64, orientation: 6, consumed: sofAt + int64(len(xmp)+len(big)) + 10,
		stdlib: true})
	// EXIF data that do not parse leave the orientation at 1.
	badEXIF := exifPayload(binary.BigEndian, 6, 0, 0)
	binary.BigEndian.PutUint16(badEXIF[14:], 0xffff) // more entries than the segment holds
	add(generated{name: "jpeg exif entry count past the segment", format: "jpeg",
		width: 24, height: 64, orientation: 6,
		data: insertAfterSOI(std, jpegSegment(0xe1, badEXIF)), stdlib: true})
	badMagic := exifPayload(binary.BigEndian, 6, 0, 0)
	badMagic[9] = '+'
	add(generated{name: "jpeg exif bad TIFF header", format: "jpeg", width: 64, height: 24,
		data: insertAfterSOI(std, jpegSegment(0xe1, badMagic)), stdlib: true})
	farIFD := exifPayload(binary.BigEndian, 6, 0, 0)
	binary.BigEndian.PutUint32(farIFD[10:], 1<<20) // directory past the segment's end
	add(generated{name: "jpeg exif directory outside", format: "jpeg", width: 64,
		height: 24, data: insertAfterSOI(std, jpegSegment(0xe1, farIFD)), stdlib: true})
	add(generated{name: "jpeg exif orientation 9", format: "jpeg", width: 64, height: 24,
		data:   insertAfterSOI(std, jpegSegment(0xe1, exifPayload(binary.BigEndian, 9, 0, 0))),
		stdlib: true})

	// JPEG frames built by hand: progressive, CMYK, lossless, arithmetic, with a DHT
	// segment (0xc4, not a frame) before the frame, and with fill and stray bytes.
	dqt := jpegSegment(0xdb, make([]byte, 65))
	dht := jpegSegment(0xc4, append([]byte{0x00}, make([]byte, 16+1)...))
	adobe := jpegSegment(0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))
	hand := []struct {
		name   string
		parts  [][]byte
		w, h   int
		stdlib bool
	}{
		{"jpeg progressive SOF2", [][]byte{dqt, sof(0xc2, 640, 480, 3)}, 640, 480, true},
		{"jpeg cmyk", [][]byte{adobe, dqt, sof(0xc0, 300, 200, 4)}, 300, 200, true},
		{"jpeg gray", [][]byte{sof(0xc0, 1, 65535, 1)}, 1, 65535, true},
		{"jpeg lossless SOF3", [][]byte{dht, sof(0xc3, 17, 19, 3)}, 17, 19, false},
		{"jpeg arithmetic SOF9", [][]byte{sof(0xc9, 33, 44, 3)}, 33, 44, false},
		{"jpeg hierarchical SOF5 after DAC", [][]byte{jpegSegment(0xcc, []byte{0, 1}),
			sof(0xc5, 8, 9, 1)}, 8, 9, false},
		{"jpeg DHT before SOF1", [][]byte{dht, sof(0xc1, 70, 80, 3)}, 70, 80, true},
		{"jpeg fill bytes", [][]byte{dqt, {0xff, 0xff, 0xff}, sof(0xc0, 5, 6, 3)}, 5, 6,
			true},
		{"jpeg stray bytes", [][]byte{dqt, {0x00, 0x12, 0xff, 0x00}, sof(0xc0, 5, 6, 3)},
			5, 6, true},
		{"jpeg restart marker", [][]byte{{0xff, 0xd3}, sof(0xc0, 5, 6, 3)}, 5, 6, true},
	}
	for _, j := range hand {
		data := []byte{0xff, 0xd8}
		for _, p := range j.parts {
			data = append(data, p...)
		}
		// The reader stops before the component specifications, 3 bytes each.
		comps := int64(j.parts[len(j.parts)-1][9])
		consumed := int64(len(data)) - 3*comps
		// A scan header and EOI, for image.DecodeConfig, which reads up to the scan.
		data = append(data, jpegSegment(0xda, []byte{1, 1, 0, 0, 63, 0})...)
		data = append(data, 0xff, 0xd9)
		add(generated{name: j.name, data: data, format: "jpeg", width: j.w, height: j.h,
			consumed: consumed, stdlib: j.stdlib})
	}

	// GIF from the standard encoder.
	var gb bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 300, 7), color.Palette{color.Black, color.White})
	if err := gif.Encode(&gb, pal, nil); err != nil {
		t.Fatal(err)
	}
	add(generated{name: "gif", data: gb.Bytes(), format: "gif", width: 300, height: 7,
		consumed: 10, stdlib: true})

	// WebP headers of the three kinds.
	add(generated{name: "webp VP8L", data: webpVP8L(1234, 567), format: "webp", width: 1234,
		height: 567, consumed: 25})
	add(generated{name: "webp VP8 with scale bits", data: webpVP8(0xc000|801, 0x4000|601),
		format: "webp", width: 801, height: 601, consumed: 30})
	add(generated{name: "webp VP8X wide canvas", data: webpVP8X(16777216, 3), format: "webp",
		width: 16777216, height: 3, consumed: 30})

	// BMP: bottom-up, top-down and OS/2 core headers.
	add(generated{name: "bmp bottom-up", data: bmpFile(7, 3, false, false), format: "bmp",
		width: 7, height: 3, consumed: 26})
	add(generated{name: "bmp top-down", data: bmpFile(7, 3, true, false), format: "bmp",
		width: 7, height: 3, consumed: 26})
	add(generated{name: "bmp core header", data: bmpFile(5, 4, false, true), format: "bmp",
		width: 5, height: 4, consumed: 22})

	// TIFF: both byte orders, SHORT and LONG sizes, orientation, the directory after
	// the pixels.
	for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		add(generated{name: "tiff short " + order.String(), format: "tiff", width: 6,
			height: 4, data: buildTIFF(order, 6, 4, 3, 0)})
		add(generated{name: "tiff long orientation 8 " + order.String(), format: "tiff",
			width: 4, height: 6, orientation: 8, data: buildTIFF(order, 6, 4, 4, 8)})
		add(generated{name: "tiff orientation 3 " + order.String(), format: "tiff",
			width: 6, height: 4, orientation: 3, data: buildTIFF(order, 6, 4, 3, 3)})
	}
	return out
}

func TestReadImageHeaderGenerated(t *testing.T) {
	for _, g := range generatedImages(t) {
		t.Run(g.name, func(t *testing.T) {
			info, n, err := readHeader(g.data)
			if err != nil {
				t.Fatal(err)
			}
			want := ImageInfo{Format: g.format, Width: g.width, Height: g.height,
				Orientation: max(g.orientation, 1), ContentType: "image/" + g.format}
			if info != want {
				t.Errorf("got %+v, want %+v", info, want)
			}
			if g.consumed != 0 && n != g.consumed {
				t.Errorf("consumed %d bytes, want exactly %d", n, g.consumed)
			}
			if g.stdlib {
				w, h := stdlibSize(t, g.data)
				if want.Orientation >= 5 {
					w, h = h, w
				}
				if w != info.Width || h != info.Height {
					t.Errorf("image.DecodeConfig reads %dx%d", w, h)
				}
			}

			// The same result when the reader gives one byte at a time, or data with
			// its last read's io.EOF.
			for _, r := range []io.Reader{
				iotest.OneByteReader(bytes.NewReader(g.data)),
				iotest.DataErrReader(bytes.NewReader(g.data)),
				iotest.HalfReader(bytes.NewReader(g.data)),
			} {
				if got, err := ReadImageHeader(r); err != nil || got != info {
					t.Errorf("with %T: got %+v, %v", r, got, err)
				}
			}
		})
	}
}

// TestReadImageHeaderTruncated cuts every image short of its header's end: each cut
// must fail with ErrCorrupt.
func TestReadImageHeaderTruncated(t *testing.T) {
	cases := generatedImages(t)
	for _, f := range []string{"front-panel.png", "rear-panel.jpg", "orientation-6.jpg",
		"small.gif", "front-panel-lossy.webp", "alpha-vp8x.webp"} {
		cases = append(cases, generated{name: f, data: readTestdata(t, f)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, n, err := readHeader(c.data)
			if err != nil {
				t.Fatal(err)
			}
			for cut := int64(4); cut < n; cut++ {
				if cut > 4096 && cut < n-64 && cut%97 != 0 {
					continue // long headers: every byte near the ends, a sample between
				}
				info, _, err := readHeader(c.data[:cut])
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("cut at %d of %d: got %+v, %v; want ErrCorrupt", cut, n, info,
						err)
				}
			}
		})
	}
}

func TestReadImageHeaderCorrupt(t *testing.T) {
	png1 := encodePNG(t, image.NewGray(image.Rect(0, 0, 3, 3)))
	badCRC := bytes.Clone(png1)
	badCRC[30] ^= 1
	zeroWidth := bytes.Clone(png1)
	copy(zeroWidth[16:20], []byte{0, 0, 0, 0})
	binary.BigEndian.PutUint32(zeroWidth[29:], crc32.ChecksumIEEE(zeroWidth[12:29]))
	badDepth := bytes.Clone(png1)
	badDepth[24] = 3 // 3-bit gray
	binary.BigEndian.PutUint32(badDepth[29:], crc32.ChecksumIEEE(badDepth[12:29]))
	notIHDR := bytes.Clone(png1)
	copy(notIHDR[12:16], "IDAT")

	tests := []struct {
		name string
		data []byte
	}{
		{"png signature cut", []byte("\x89PNG\r\n")},
		{"png IHDR checksum", badCRC},
		{"png zero width", zeroWidth},
		{"png bad bit depth", badDepth},
		{"png first chunk not IHDR", notIHDR},
		{"png width over 2^31", pngIHDR(1<<31, 1)},
		{"jpeg EOI before frame", []byte{0xff, 0xd8, 0xff, 0xd9, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"jpeg SOS before frame", append([]byte{0xff, 0xd8}, jpegSegment(0xda,
			make([]byte, 10))...)},
		{"jpeg segment length 1", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"jpeg reserved marker", []byte{0xff, 0xd8, 0xff, 0x02, 0, 2, 0, 0, 0, 0, 0, 0}},
		{"jpeg frame length mismatch", append([]byte{0xff, 0xd8},
			jpegSegment(0xc0, []byte{8, 0, 1, 0, 1, 3, 1, 0x11, 0})...)},
		{"jpeg zero height", append([]byte{0xff, 0xd8}, sof(0xc0, 4, 0, 1)...)},
		{"gif zero size", []byte("GIF89a\x00\x00\x00\x00\x00\x00\x00")},
		{"webp first chunk ALPH", []byte("RIFF\x20\x00\x00\x00WEBPALPH\x04\x00\x00\x00")},
		{"webp VP8 not a key frame", withByte(webpVP8(10, 10), 20, 0x11)},
		{"webp VP8 no start code", withByte(webpVP8(10, 10), 23, 0)},
		{"webp VP8L bad signature", bytes.Replace(webpVP8L(3, 3), []byte{0x2f}, []byte{0x2e},
			1)},
		{"bmp negative width", bmpHeader(-5, 3, 40)},
		{"bmp min int32 height", bmpHeader(5, -1<<31, 40)},
		{"tiff without size", tiffEntries(binary.LittleEndian, [][3]uint32{{274, 3, 1}})},
		{"tiff directory before its header end", []byte("II*\x00\x04\x00\x00\x00\x00\x00" +
			"\x00\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, _, err := readHeader(tt.data)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %+v, %v; want ErrCorrupt", info, err)
			}
		})
	}
}

// TestReadImageHeaderReaderError checks that a failing reader's error comes back and is
// not taken for a corrupt image.
func TestReadImageHeaderReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	std := encodeJPEG(t, 8, 8)
	_, n, err := readHeader(std)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{0, 2, 5, 12, 40, int(n) - 1} {
		t.Run(strconv.Itoa(at), func(t *testing.T) {
			r := io.MultiReader(bytes.NewReader(std[:at]), iotest.ErrReader(boom))
			_, err := ReadImageHeader(r)
			if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) ||
				errors.Is(err, ErrNotImage) {
				t.Fatalf("got %v, want an error wrapping only %v", err, boom)
			}
		})
	}
}

// repeatReader gives prefix, then pattern again and again, forever.
type repeatReader struct {
	prefix, pattern []byte
	off             int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.prefix) > 0 {
			c := copy(p[n:], r.prefix)
			r.prefix = r.prefix[c:]
			n += c
			continue
		}
		c := copy(p[n:], r.pattern[r.off:])
		r.off = (r.off + c) % len(r.pattern)
		n += c
	}
	return n, nil
}

// hostileHeaders are endless inputs that a careless reader would follow forever.
func hostileHeaders() []struct {
	name    string
	r       func() io.Reader
	wantErr error
} {
	soi := []byte{0xff, 0xd8}
	app := jpegSegment(0xef, make([]byte, 65533))
	manyEntries := tiffEntries(binary.LittleEndian, nil)
	binary.LittleEndian.PutUint16(manyEntries[8:], 0xffff)
	return []struct {
		name    string
		r       func() io.Reader
		wantErr error
	}{
		{"jpeg endless 64 KiB segments",
			func() io.Reader { return &repeatReader{prefix: soi, pattern: app} },
			ErrUnsupportedFormat},
		{"jpeg endless empty segments",
			func() io.Reader { return &repeatReader{prefix: soi, pattern: []byte{0xff, 0xfe, 0, 2}} },
			ErrUnsupportedFormat},
		{"jpeg endless stray bytes",
			func() io.Reader {
				return &repeatReader{prefix: []byte{0xff, 0xd8, 0xff, 0xe0, 0, 2},
					pattern: []byte{0}}
			},
			ErrUnsupportedFormat},
		{"jpeg endless fill bytes",
			func() io.Reader { return &repeatReader{prefix: soi, pattern: []byte{0xff}} },
			ErrUnsupportedFormat},
		{"jpeg endless restart markers",
			func() io.Reader { return &repeatReader{prefix: soi, pattern: []byte{0xff, 0xd0}} },
			ErrUnsupportedFormat},
		{"tiff directory at 4 GiB",
			func() io.Reader {
				return &repeatReader{prefix: []byte("MM\x00*\xff\xff\xff\xff"), pattern: []byte{0}}
			},
			ErrUnsupportedFormat},
		{"tiff 65535 entries without size",
			func() io.Reader {
				return &repeatReader{prefix: manyEntries[:10], pattern: []byte{0}}
			},
			ErrCorrupt},
		{"exif 65535 entries",
			func() io.Reader {
				exif := exifPayload(binary.BigEndian, 0, 0, 65000)
				binary.BigEndian.PutUint16(exif[14:], 0xffff)
				data := append(append([]byte{0xff, 0xd8}, jpegSegment(0xe1, exif)...),
					sof(0xc0, 3, 3, 1)...)
				return bytes.NewReader(data)
			},
			nil},
	}
}

// TestReadImageHeaderBounded checks that hostile headers end, within
// MaxImageHeaderBytes read and a few kilobytes allocated.
func TestReadImageHeaderBounded(t *testing.T) {
	for _, tt := range hostileHeaders() {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: tt.r()}
			_, err := ReadImageHeader(cr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if cr.n > MaxImageHeaderBytes {
				t.Errorf("consumed %d bytes, more than %d", cr.n, MaxImageHeaderBytes)
			}

			const runs = 5
			readers := make([]io.Reader, runs)
			for i := range readers {
				readers[i] = tt.r()
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for _, r := range readers {
				_, _ = ReadImageHeader(r)
			}
			runtime.ReadMemStats(&after)
			if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 64<<10 {
				t.Errorf("allocated %d bytes per call", perRun)
			}
		})
	}
}

// FuzzReadImageHeader checks that no input makes ReadImageHeader panic, read past
// MaxImageHeaderBytes, fail with an error outside its three, or answer differently
// from the bytes it consumed alone; and that where the standard library reads the
// same PNG, JPEG or GIF, both find the same size.
func FuzzReadImageHeader(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data := readTestdata(f, e.Name())
		f.Add(data[:min(len(data), 4<<10)]) // headers are in the first few hundred bytes
	}
	for _, g := range generatedImages(f) {
		if len(g.data) > 8<<10 {
			continue // large seeds slow the fuzzer down; the tests above read them
		}
		f.Add(g.data)
	}

	formats := map[string]bool{"png": true, "jpeg": true, "gif": true, "webp": true,
		"bmp": true, "tiff": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, n, err := readHeader(data)
		if n > MaxImageHeaderBytes {
			t.Fatalf("consumed %d bytes", n)
		}
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrCorrupt) &&
				!errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("error %v wraps none of the sentinels", err)
			}
			if info != (ImageInfo{}) {
				t.Fatalf("error %v with info %+v", err, info)
			}
			return
		}
		if !formats[info.Format] || info.ContentType != "image/"+info.Format ||
			info.Width < 1 || info.Height < 1 || info.Width > math.MaxInt32 ||
			info.Height > math.MaxInt32 || info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("bad info %+v", info)
		}
		again, n2, err := readHeader(data[:n])
		if err != nil || again != info || n2 != n {
			t.Fatalf("the %d bytes consumed alone give %+v, %d, %v; the whole input %+v",
				n, again, n2, err, info)
		}

		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || format != info.Format {
			return
		}
		w, h := cfg.Width, cfg.Height
		if info.Orientation >= 5 {
			w, h = h, w
		}
		if w != info.Width || h != info.Height {
			t.Fatalf("image.DecodeConfig reads %s %dx%d, ReadImageHeader %+v", format,
				cfg.Width, cfg.Height, info)
		}
	})
}

func ExampleReadImageHeader() {
	f, err := os.Open("testdata/orientation-6.jpg") // stored 400×200, shown turned
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	info, err := ReadImageHeader(f)
	fmt.Printf("%+v %v\n", info, err)
	// Output:
	// {Format:jpeg Width:200 Height:400 Orientation:6 ContentType:image/jpeg} <nil>
}
