package field

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// This file builds the images the header tests read: with the standard encoders where
// they can, by hand where they cannot (interlaced PNG, progressive, CMYK and lossless
// JPEG frames, EXIF, WebP, BMP, TIFF).

// byteOrder writes and reads integers in one byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngChunk returns a PNG chunk with its length and CRC.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// pngIHDR returns a PNG signature and an 8-bit gray IHDR chunk, and nothing more.
func pngIHDR(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

// interlacedPNG encodes a w×h 8-bit gray gradient with Adam7 interlacing, which the
// standard encoder does not write, and checks that the standard decoder reads it back.
func interlacedPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	pixel := func(x, y int) byte { return byte(x*17 + y*31) }
	passes := [7][4]int{ // x0, y0, dx, dy
		{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
		{0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
	}
	var raw bytes.Buffer
	for _, p := range passes {
		if p[0] >= w || p[1] >= h {
			continue // an empty pass has no rows, not even filter bytes
		}
		for y := p[1]; y < h; y += p[3] {
			raw.WriteByte(0) // filter: none
			for x := p[0]; x < w; x += p[2] {
				raw.WriteByte(pixel(x, y))
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 1) // 8-bit gray, Adam7
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	out = append(out, pngChunk("IEND", nil)...)

	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("interlaced PNG does not decode: %v", err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if got := img.(*image.Gray).GrayAt(x, y).Y; got != pixel(x, y) {
				t.Fatalf("interlaced PNG decodes %d at (%d,%d), want %d", got, x, y,
					pixel(x, y))
			}
		}
	}
	return out
}

// encodeJPEG encodes a w×h color image with the standard (baseline) encoder.
func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 8), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegSegment returns a marker segment with its length.
func jpegSegment(marker byte, payload []byte) []byte {
	out := []byte{0xff, marker}
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	return append(out, payload...)
}

// sof returns a frame header segment of the given kind (0xc0 to 0xcf) with comps
// components, each sampled 1×1 with quantization table 0.
func sof(marker byte, w, h, comps int) []byte {
	p := []byte{8}
	p = binary.BigEndian.AppendUint16(p, uint16(h))
	p = binary.BigEndian.AppendUint16(p, uint16(w))
	p = append(p, byte(comps))
	for i := 0; i < comps; i++ {
		p = append(p, byte(i+1), 0x11, 0)
	}
	return jpegSegment(marker, p)
}

func insertAfterSOI(jpg, segments []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, segments...)
	return append(out, jpg[2:]...)
}

// exifPayload returns the payload of an EXIF APP1 segment: its first directory holds
// Make, the orientation (left out when 0) and XResolution, and starts gap bytes after
// the TIFF header; pad bytes follow the directory.
func exifPayload(order byteOrder, orientation, gap, pad int) []byte {
	out := []byte("Exif\x00\x00")
	tiff := len(out)
	if order == binary.BigEndian {
		out = append(out, "MM\x00*"...)
	} else {
		out = append(out, "II*\x00"...)
	}
	out = order.AppendUint32(out, uint32(8+gap))
	out = append(out, make([]byte, gap)...)

	entries := 2 // Make, XResolution
	if orientation != 0 {
		entries++
	}
	out = order.AppendUint16(out, uint16(entries))
	out = order.AppendUint16(out, 0x010f) // Make: ASCII, 4 bytes, in the entry
	out = order.AppendUint16(out, 2)
	out = order.AppendUint32(out, 4)
	out = append(out, "Go\x00\x00"...)
	if orientation != 0 {
		out = order.AppendUint16(out, 0x0112) // Orientation: SHORT, 1
		out = order.AppendUint16(out, 3)
		out = order.AppendUint32(out, 1)
		out = order.AppendUint16(out, uint16(orientation))
		out = order.AppendUint16(out, 0)
	}
	// XResolution: a RATIONAL stored after the directory.
	ratAt := len(out) - tiff + 12 + 4
	out = order.AppendUint16(out, 0x011a)
	out = order.AppendUint16(out, 5)
	out = order.AppendUint32(out, 1)
	out = order.AppendUint32(out, uint32(ratAt))
	out = order.AppendUint32(out, 0) // no next directory
	out = order.AppendUint32(out, 72)
	out = order.AppendUint32(out, 1)
	return append(out, make([]byte, pad)...)
}

// riff wraps WebP chunks in a RIFF WEBP header.
func riff(chunks ...[]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	out = append(out, "WEBP"...)
	return append(out, body...)
}

func riffChunk(fourcc string, data []byte) []byte {
	out := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// webpVP8 returns a lossy WebP key frame header; the 16-bit size fields may carry
// scale bits above their 14 bits of size.
func webpVP8(wField, hField uint16) []byte {
	d := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}
	d = binary.LittleEndian.AppendUint16(d, wField)
	d = binary.LittleEndian.AppendUint16(d, hField)
	return riff(riffChunk("VP8 ", d))
}

// webpVP8L returns a lossless WebP header.
func webpVP8L(w, h uint32) []byte {
	d := binary.LittleEndian.AppendUint32([]byte{0x2f}, (w-1)|(h-1)<<14|1<<28)
	return riff(riffChunk("VP8L", d))
}

// webpVP8X returns an extended WebP header of the given canvas size.
func webpVP8X(w, h uint32) []byte {
	d := []byte{0x10, 0, 0, 0}
	d = append(d, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	d = append(d, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riff(riffChunk("VP8X", d))
}

// bmpHeader returns a BMP file header and the start of an info header of hsize bytes.
func bmpHeader(w, h int32, hsize uint32) []byte {
	out := []byte("BM")
	out = binary.LittleEndian.AppendUint32(out, 0)
	out = binary.LittleEndian.AppendUint32(out, 0)
	out = binary.LittleEndian.AppendUint32(out, 14+hsize)
	out = binary.LittleEndian.AppendUint32(out, hsize)
	out = binary.LittleEndian.AppendUint32(out, uint32(w))
	out = binary.LittleEndian.AppendUint32(out, uint32(h))
	return out
}

// bmpFile returns a whole 24-bit BMP: with a BITMAPINFOHEADER, rows bottom-up or
// top-down, or with an OS/2 BITMAPCOREHEADER.
func bmpFile(w, h int, topDown, core bool) []byte {
	le := binary.LittleEndian
	row := (w*3 + 3) &^ 3
	hsize := 40
	if core {
		hsize = 12
	}
	out := []byte("BM")
	out = le.AppendUint32(out, uint32(14+hsize+row*h))
	out = le.AppendUint32(out, 0)
	out = le.AppendUint32(out, uint32(14+hsize))
	out = le.AppendUint32(out, uint32(hsize))
	if core {
		out = le.AppendUint16(out, uint16(w))
		out = le.AppendUint16(out, uint16(h))
		out = le.AppendUint16(out, 1)
		out = le.AppendUint16(out, 24)
	} else {
		sh := int32(h)
		if topDown {
			sh = -sh
		}
		out = le.AppendUint32(out, uint32(w))
		out = le.AppendUint32(out, uint32(sh))
		out = le.AppendUint16(out, 1)
		out = le.AppendUint16(out, 24)
		out = le.AppendUint32(out, 0) // BI_RGB
		out = le.AppendUint32(out, uint32(row*h))
		out = le.AppendUint32(out, 2835)
		out = le.AppendUint32(out, 2835)
		out = le.AppendUint32(out, 0)
		out = le.AppendUint32(out, 0)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < row; x++ {
			out = append(out, byte(x+y))
		}
	}
	return out
}

// tiffEntries returns a TIFF header and a first directory right after it, with one
// entry {tag, type, value} of count 1 for each of entries.
func tiffEntries(order byteOrder, entries [][3]uint32) []byte {
	var out []byte
	if order == binary.BigEndian {
		out = []byte("MM\x00*")
	} else {
		out = []byte("II*\x00")
	}
	out = order.AppendUint32(out, 8)
	return appendIFD(order, out, entries)
}

func appendIFD(order byteOrder, out []byte, entries [][3]uint32) []byte {
	out = order.AppendUint16(out, uint16(len(entries)))
	for _, e := range entries {
		out = order.AppendUint16(out, uint16(e[0]))
		out = order.AppendUint16(out, uint16(e[1]))
		out = order.AppendUint32(out, 1)
		if e[1] == 3 {
			out = order.AppendUint16(out, uint16(e[2]))
			out = order.AppendUint16(out, 0)
		} else {
			out = order.AppendUint32(out, e[2])
		}
	}
	return order.AppendUint32(out, 0) // no next directory
}

// buildTIFF returns a whole w×h 8-bit gray TIFF whose directory follows its pixels, as
// libtiff and golang.org/x/image/tiff write it; sizeType is 3 (SHORT) or 4 (LONG) for
// the size tags, and orientation is left out when 0.
func buildTIFF(order byteOrder, w, h uint32, sizeType uint32, orientation int) []byte {
	n := w * h
	ifd := 8 + n + n%2
	var out []byte
	if order == binary.BigEndian {
		out = []byte("MM\x00*")
	} else {
		out = []byte("II*\x00")
	}
	out = order.AppendUint32(out, ifd)
	for i := uint32(0); i < n; i++ {
		out = append(out, byte(i*7))
	}
	if n%2 == 1 {
		out = append(out, 0)
	}
	entries := [][3]uint32{
		{256, sizeType, w}, {257, sizeType, h}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
		{273, 4, 8},
	}
	if orientation != 0 {
		entries = append(entries, [3]uint32{274, 3, uint32(orientation)})
	}
	entries = append(entries, [][3]uint32{{277, 3, 1}, {278, 4, h}, {279, 4, n}}...)
	return appendIFD(order, out, entries)
}

// withByte returns a copy of data with data[i] set to b.
func withByte(data []byte, i int, b byte) []byte {
	out := bytes.Clone(data)
	out[i] = b
	return out
}
