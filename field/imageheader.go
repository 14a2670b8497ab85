package field

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// ImageInfo is what an image's header tells without decoding its pixels.
type ImageInfo struct {
	// Format is "png", "jpeg", "gif", "webp", "bmp" or "tiff".
	Format string
	// Width and Height are the size as displayed: when the EXIF orientation (JPEG) or
	// the Orientation tag (TIFF) turns the image a quarter, they are the stored height
	// and width.
	Width, Height int
	// Orientation is the EXIF orientation, 1 to 8; 1 when the image has none.
	Orientation int
	// ContentType is the format's media type, such as "image/png".
	ContentType string
}

// Errors of [ReadImageHeader], to be tested with errors.Is. The errors it returns wrap
// one of them with details, or wrap the reader's own error.
var (
	// ErrNotImage: the bytes are not an image in any format ReadImageHeader knows
	// (text, SVG, HTML, a PDF...).
	ErrNotImage = errors.New("not an image")
	// ErrCorrupt: the bytes start as an image but its header is truncated or invalid.
	ErrCorrupt = errors.New("corrupt image header")
	// ErrUnsupportedFormat: the image is in a format or variant that ReadImageHeader
	// recognises but does not read (HEIF, AVIF, BigTIFF), or its header does not end
	// within MaxImageHeaderBytes.
	ErrUnsupportedFormat = errors.New("unsupported image format")
)

// MaxImageHeaderBytes bounds how much of its reader [ReadImageHeader] consumes. A JPEG
// with more metadata than this before its frame header, or a TIFF whose first
// directory starts further, fails with [ErrUnsupportedFormat].
const MaxImageHeaderBytes = 1 << 20

// maxJPEGSegments bounds the number of JPEG segments read before the frame header.
const maxJPEGSegments = 1024

// ReadImageHeader reads the format and size of the image r holds from its header,
// without decoding pixels. It knows PNG, JPEG (baseline, progressive, lossless,
// CMYK), GIF, WebP (lossy, lossless and extended), BMP and TIFF.
//
// It reads no more of r than it needs and never reads ahead: it stops after the header
// (PNG, GIF, WebP, BMP), after the frame header (JPEG, whose earlier segments it skips)
// or after the first image directory (TIFF), and in every case after at most
// [MaxImageHeaderBytes]. It holds at most a few kilobytes in memory, whatever the
// header declares.
//
// A truncated or invalid header fails with an error wrapping [ErrCorrupt]; bytes that
// are no known image, with [ErrNotImage]; a failure of r itself is returned wrapped.
func ReadImageHeader(r io.Reader) (ImageInfo, error) {
	h := &headerReader{r: r, left: MaxImageHeaderBytes}
	s, err := h.peek(4)
	if err != nil {
		return ImageInfo{}, err
	}

	var info ImageInfo
	switch {
	case bytes.HasPrefix(s, []byte("\x89PNG")):
		info, err = readPNG(h)
	case bytes.HasPrefix(s, []byte("\xff\xd8\xff")):
		info, err = readJPEG(h)
	case bytes.HasPrefix(s, []byte("GIF8")):
		info, err = readGIF(h)
	case bytes.HasPrefix(s, []byte("RIFF")):
		info, err = readWebP(h)
	case bytes.HasPrefix(s, []byte("BM")):
		info, err = readBMP(h)
	case bytes.HasPrefix(s, []byte("II*\x00")), bytes.HasPrefix(s, []byte("MM\x00*")):
		info, err = readTIFF(h)
	case bytes.HasPrefix(s, []byte("II+\x00")), bytes.HasPrefix(s, []byte("MM\x00+")):
		return ImageInfo{}, fmt.Errorf("field: image header: BigTIFF: %w", ErrUnsupportedFormat)
	default:
		if s, err = h.peek(12); err != nil {
			return ImageInfo{}, err
		}
		if len(s) == 12 && string(s[4:8]) == "ftyp" && heifBrand(string(s[8:12])) {
			return ImageInfo{}, fmt.Errorf("field: image header: %s (HEIF family): %w",
				s[8:12], ErrUnsupportedFormat)
		}
		return ImageInfo{}, fmt.Errorf("field: image header: %w", ErrNotImage)
	}
	if err != nil {
		return ImageInfo{}, err
	}
	if info.Orientation == 0 {
		info.Orientation = 1
	}
	if info.Orientation >= 5 {
		info.Width, info.Height = info.Height, info.Width
	}
	info.ContentType = "image/" + info.Format
	return info, nil
}

// heifBrand reports whether an ISO media file's major brand is a HEIF or AVIF image.
func heifBrand(brand string) bool {
	switch brand {
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis":
		return true
	}
	return false
}

// headerReader reads a header in exact amounts, counting what it may still read.
type headerReader struct {
	r    io.Reader
	left int64
	buf  [12]byte
	back []byte // bytes peeked at, in buf, to be read first
}

// peek returns the first n bytes (n <= 12) of the input, or all of it when it is
// shorter, and keeps them to be read again. It is called before any read.
func (h *headerReader) peek(n int) ([]byte, error) {
	have := len(h.back)
	if have < n {
		m, err := io.ReadFull(h.r, h.buf[have:n])
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, readError("", "signature", err)
		}
		h.back = h.buf[:have+m]
	}
	return h.back, nil
}

func (h *headerReader) Read(p []byte) (int, error) {
	if len(h.back) > 0 {
		n := copy(p, h.back)
		h.back = h.back[n:]
		h.left -= int64(n)
		return n, nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	if h.left <= 0 {
		return 0, errHeaderLimit
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= int64(n)
	return n, err
}

// errHeaderLimit stops a read that would pass MaxImageHeaderBytes.
var errHeaderLimit = errors.New("header limit reached")

// read fills p, or fails with an error made by readError.
func (h *headerReader) read(format, what string, p []byte) error {
	if int64(len(p)) > h.left {
		return readError(format, what, errHeaderLimit)
	}
	if _, err := io.ReadFull(h, p); err != nil {
		return readError(format, what, err)
	}
	return nil
}

// skip reads and drops n bytes.
func (h *headerReader) skip(format, what string, n int64) error {
	if n > h.left {
		return readError(format, what, errHeaderLimit)
	}
	if _, err := io.CopyN(io.Discard, h, n); err != nil {
		return readError(format, what, err)
	}
	return nil
}

// readError turns a read error into the error ReadImageHeader returns.
func readError(format, what string, err error) error {
	prefix := "field: image header: "
	if format != "" {
		prefix += format + ": "
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%s%s: truncated: %w", prefix, what, ErrCorrupt)
	case err == errHeaderLimit:
		return fmt.Errorf("%s%s: header longer than %d bytes: %w", prefix, what,
			MaxImageHeaderBytes, ErrUnsupportedFormat)
	}
	return fmt.Errorf("%s%s: %w", prefix, what, err)
}

// corrupt returns an error wrapping ErrCorrupt.
func corrupt(format, detail string) error {
	return fmt.Errorf("field: image header: %s: %s: %w", format, detail, ErrCorrupt)
}

// sized checks a declared size and makes the ImageInfo for it.
func sized(format string, width, height uint64) (ImageInfo, error) {
	if width == 0 || height == 0 {
		return ImageInfo{}, corrupt(format, fmt.Sprintf("empty size %dx%d", width, height))
	}
	if width > math.MaxInt32 || height > math.MaxInt32 {
		return ImageInfo{}, corrupt(format, fmt.Sprintf("size %dx%d too large", width, height))
	}
	return ImageInfo{Format: format, Width: int(width), Height: int(height)}, nil
}

// readPNG reads the IHDR chunk, which must come first, and checks its CRC.
func readPNG(h *headerReader) (ImageInfo, error) {
	var b [33]byte // signature, chunk length and type, 13 bytes of IHDR, CRC
	if err := h.read("png", "IHDR", b[:]); err != nil {
		return ImageInfo{}, err
	}
	if string(b[:8]) != "\x89PNG\r\n\x1a\n" {
		return ImageInfo{}, fmt.Errorf("field: image header: %w", ErrNotImage)
	}
	if binary.BigEndian.Uint32(b[8:]) != 13 || string(b[12:16]) != "IHDR" {
		return ImageInfo{}, corrupt("png", "first chunk is not a 13-byte IHDR")
	}
	if crc32.ChecksumIEEE(b[12:29]) != binary.BigEndian.Uint32(b[29:]) {
		return ImageInfo{}, corrupt("png", "IHDR checksum mismatch")
	}
	if !pngDepthValid(b[25], b[24]) {
		return ImageInfo{}, corrupt("png", fmt.Sprintf("color type %d with bit depth %d",
			b[25], b[24]))
	}
	return sized("png", uint64(binary.BigEndian.Uint32(b[16:])),
		uint64(binary.BigEndian.Uint32(b[20:])))
}

// pngDepthValid reports whether a PNG color type allows a bit depth.
func pngDepthValid(colorType, depth byte) bool {
	switch colorType {
	case 0: // gray
		return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16
	case 3: // palette
		return depth == 1 || depth == 2 || depth == 4 || depth == 8
	case 2, 4, 6: // RGB, gray and alpha, RGBA
		return depth == 8 || depth == 16
	}
	return false
}

// readGIF reads the logical screen size.
func readGIF(h *headerReader) (ImageInfo, error) {
	var b [10]byte
	if err := h.read("gif", "logical screen", b[:]); err != nil {
		return ImageInfo{}, err
	}
	if v := string(b[:6]); v != "GIF87a" && v != "GIF89a" {
		return ImageInfo{}, fmt.Errorf("field: image header: %w", ErrNotImage)
	}
	return sized("gif", uint64(binary.LittleEndian.Uint16(b[6:])),
		uint64(binary.LittleEndian.Uint16(b[8:])))
}

// readWebP reads the first chunk of a RIFF WEBP file: VP8, VP8L or VP8X.
func readWebP(h *headerReader) (ImageInfo, error) {
	var c [12]byte
	if err := h.read("webp", "RIFF header", c[:]); err != nil {
		return ImageInfo{}, err
	}
	if string(c[8:12]) != "WEBP" {
		return ImageInfo{}, fmt.Errorf("field: image header: RIFF form %q: %w", c[8:12],
			ErrNotImage)
	}
	if err := h.read("webp", "chunk header", c[:8]); err != nil {
		return ImageInfo{}, err
	}
	size := binary.LittleEndian.Uint32(c[4:])
	var b [10]byte
	switch string(c[:4]) {
	case "VP8 ":
		if size < 10 {
			return ImageInfo{}, corrupt("webp", "short VP8 chunk")
		}
		if err := h.read("webp", "VP8 frame header", b[:]); err != nil {
			return ImageInfo{}, err
		}
		if b[0]&1 != 0 || string(b[3:6]) != "\x9d\x01\x2a" {
			return ImageInfo{}, corrupt("webp", "VP8 data is not a key frame")
		}
		return sized("webp", uint64(binary.LittleEndian.Uint16(b[6:])&0x3fff),
			uint64(binary.LittleEndian.Uint16(b[8:])&0x3fff))
	case "VP8L":
		if size < 5 {
			return ImageInfo{}, corrupt("webp", "short VP8L chunk")
		}
		if err := h.read("webp", "VP8L header", b[:5]); err != nil {
			return ImageInfo{}, err
		}
		bits := binary.LittleEndian.Uint32(b[1:])
		if b[0] != 0x2f || bits>>29 != 0 {
			return ImageInfo{}, corrupt("webp", "bad VP8L signature or version")
		}
		return sized("webp", uint64(bits&0x3fff)+1, uint64(bits>>14&0x3fff)+1)
	case "VP8X":
		if size < 10 {
			return ImageInfo{}, corrupt("webp", "short VP8X chunk")
		}
		if err := h.read("webp", "VP8X header", b[:]); err != nil {
			return ImageInfo{}, err
		}
		return sized("webp", uint64(le24(b[4:]))+1, uint64(le24(b[7:]))+1)
	}
	return ImageInfo{}, corrupt("webp", fmt.Sprintf("first chunk %q", c[:4]))
}

func le24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

// readBMP reads the file header and the size fields of the info header.
func readBMP(h *headerReader) (ImageInfo, error) {
	var b [26]byte // file header, info header size, width and height
	if err := h.read("bmp", "header", b[:18]); err != nil {
		return ImageInfo{}, err
	}
	switch hsize := binary.LittleEndian.Uint32(b[14:]); hsize {
	case 12: // BITMAPCOREHEADER: unsigned 16-bit width and height
		if err := h.read("bmp", "core header", b[18:22]); err != nil {
			return ImageInfo{}, err
		}
		return sized("bmp", uint64(binary.LittleEndian.Uint16(b[18:])),
			uint64(binary.LittleEndian.Uint16(b[20:])))
	case 16, 40, 52, 56, 64, 108, 124: // OS/2 2.x and BITMAPINFOHEADER to V5
		if err := h.read("bmp", "info header", b[18:26]); err != nil {
			return ImageInfo{}, err
		}
		w := int64(int32(binary.LittleEndian.Uint32(b[18:])))
		ht := int64(int32(binary.LittleEndian.Uint32(b[22:])))
		if w < 0 {
			return ImageInfo{}, corrupt("bmp", fmt.Sprintf("negative width %d", w))
		}
		if ht < 0 { // rows stored top-down
			ht = -ht
		}
		return sized("bmp", uint64(w), uint64(ht))
	default:
		return ImageInfo{}, fmt.Errorf("field: image header: \"BM\" without a BMP info "+
			"header (size %d): %w", hsize, ErrNotImage)
	}
}

// readJPEG walks the segments up to the first frame header (SOF0 to SOF15) and reads
// the orientation from an EXIF APP1 segment met on the way.
func readJPEG(h *headerReader) (ImageInfo, error) {
	orientation := 0
	var b [8]byte
	if err := h.read("jpeg", "SOI", b[:2]); err != nil {
		return ImageInfo{}, err
	}
	for segments := 0; ; segments++ {
		if segments == maxJPEGSegments {
			return ImageInfo{}, fmt.Errorf("field: image header: jpeg: more than %d "+
				"segments before the frame header: %w", maxJPEGSegments, ErrUnsupportedFormat)
		}
		marker, err := nextMarker(h)
		if err != nil {
			return ImageInfo{}, err
		}
		switch {
		case marker == 0x01 || marker >= 0xd0 && marker <= 0xd7: // TEM, RST: no length
			continue
		case marker == 0xd8 || marker == 0xd9 || marker == 0xda || marker < 0xc0:
			return ImageInfo{}, corrupt("jpeg", fmt.Sprintf("marker %#x before the frame "+
				"header", marker))
		}
		if err := h.read("jpeg", "segment length", b[:2]); err != nil {
			return ImageInfo{}, err
		}
		length := int64(binary.BigEndian.Uint16(b[:2])) - 2
		if length < 0 {
			return ImageInfo{}, corrupt("jpeg", "segment length below 2")
		}

		switch {
		case marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
			marker != 0xcc:
			if length < 6 {
				return ImageInfo{}, corrupt("jpeg", "short frame header")
			}
			if err := h.read("jpeg", "frame header", b[:6]); err != nil {
				return ImageInfo{}, err
			}
			comps := int64(b[5])
			if comps == 0 || length != 6+3*comps {
				return ImageInfo{}, corrupt("jpeg", fmt.Sprintf("frame header of %d bytes "+
					"for %d components", length, comps))
			}
			info, err := sized("jpeg", uint64(binary.BigEndian.Uint16(b[3:])),
				uint64(binary.BigEndian.Uint16(b[1:])))
			info.Orientation = orientation
			return info, err
		case marker == 0xe1 && orientation == 0:
			seg := &segmentReader{h: h, left: length}
			o, err := readEXIFOrientation(seg)
			if err != nil && !errors.Is(err, errBadTIFF) {
				return ImageInfo{}, err
			}
			if o != 0 {
				orientation = o
			}
			length = seg.left
		}
		if err := h.skip("jpeg", "segment", length); err != nil {
			return ImageInfo{}, err
		}
	}
}

// nextMarker reads up to and including the next marker byte, skipping stray bytes and
// fill bytes as decoders do, and returns the marker.
func nextMarker(h *headerReader) (byte, error) {
	var b [1]byte
	for {
		if err := h.read("jpeg", "marker", b[:]); err != nil {
			return 0, err
		}
		if b[0] != 0xff {
			continue
		}
		for b[0] == 0xff {
			if err := h.read("jpeg", "marker", b[:]); err != nil {
				return 0, err
			}
		}
		if b[0] != 0 { // 0xff 0x00 is stuffed data, not a marker
			return b[0], nil
		}
	}
}

// errBadTIFF marks a TIFF structure that cannot be read: a TIFF file with it is
// corrupt, while a JPEG with it in its EXIF data is read as if it had no orientation.
var errBadTIFF = errors.New("unreadable TIFF structure")

// segmentReader reads within the remaining length of one JPEG segment.
type segmentReader struct {
	h    *headerReader
	left int64
}

func (s *segmentReader) read(p []byte) error {
	if int64(len(p)) > s.left {
		return errBadTIFF
	}
	s.left -= int64(len(p))
	return s.h.read("jpeg", "EXIF segment", p)
}

func (s *segmentReader) skip(n int64) error {
	if n > s.left {
		return errBadTIFF
	}
	s.left -= n
	return s.h.skip("jpeg", "EXIF segment", n)
}

// readEXIFOrientation reads the orientation tag of an APP1 segment's EXIF data. It
// returns 0 when the segment holds no EXIF data or no valid orientation, and an
// error wrapping errBadTIFF when the EXIF data do not parse.
func readEXIFOrientation(seg *segmentReader) (int, error) {
	var b [6]byte
	if seg.left < 6+8 {
		return 0, nil
	}
	if err := seg.read(b[:]); err != nil {
		return 0, err
	}
	if string(b[:]) != "Exif\x00\x00" {
		return 0, nil
	}
	tags, err := readIFD0(seg, false)
	if err != nil {
		return 0, err
	}
	return tags.orientation, nil
}

// byteSource is where an IFD is read from: a whole TIFF file or an EXIF segment.
type byteSource interface {
	read(p []byte) error
	skip(n int64) error
}

// tiffFile adapts a headerReader to byteSource for a TIFF file.
type tiffFile struct{ h *headerReader }

func (t tiffFile) read(p []byte) error { return t.h.read("tiff", "directory", p) }
func (t tiffFile) skip(n int64) error  { return t.h.skip("tiff", "directory", n) }

// ifdTags holds the tags read from a TIFF structure's first image file directory.
type ifdTags struct {
	width, height       uint64
	hasWidth, hasHeight bool
	orientation         int // 0 when absent or out of range
}

// readIFD0 reads a TIFF header and the entries of its first directory from src, which
// is positioned at the header, moving only forward: the directory's offset is never
// below the header's end. size says whether the image size tags are wanted; without
// it, reading stops at the orientation.
func readIFD0(src byteSource, size bool) (ifdTags, error) {
	var t ifdTags
	var b [12]byte
	if err := src.read(b[:8]); err != nil {
		return t, err
	}
	var order binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return t, fmt.Errorf("TIFF header %q: %w", b[:4], errBadTIFF)
	}
	off := int64(order.Uint32(b[4:]))
	if off < 8 {
		return t, fmt.Errorf("first directory at %d: %w", off, errBadTIFF)
	}
	if err := src.skip(off - 8); err != nil {
		return t, err
	}
	if err := src.read(b[:2]); err != nil {
		return t, err
	}
	count := int(order.Uint16(b[:2]))
	for i := 0; i < count; i++ {
		if err := src.read(b[:]); err != nil {
			return t, err
		}
		tag, typ := order.Uint16(b[:]), order.Uint16(b[2:])
		n := order.Uint32(b[4:])
		if n != 1 || (typ != 3 && typ != 4) {
			continue
		}
		v := uint64(order.Uint32(b[8:]))
		if typ == 3 {
			v = uint64(order.Uint16(b[8:]))
		}
		switch tag {
		case 256: // ImageWidth
			t.width, t.hasWidth = v, true
		case 257: // ImageLength
			t.height, t.hasHeight = v, true
		case 274: // Orientation
			if typ == 3 && v >= 1 && v <= 8 {
				t.orientation = int(v)
			}
			if !size {
				return t, nil
			}
		}
		if t.hasWidth && t.hasHeight && t.orientation != 0 {
			return t, nil
		}
	}
	return t, nil
}

// readTIFF reads the size and orientation tags of a TIFF file's first directory.
func readTIFF(h *headerReader) (ImageInfo, error) {
	t, err := readIFD0(tiffFile{h}, true)
	if err != nil {
		if errors.Is(err, errBadTIFF) {
			return ImageInfo{}, corrupt("tiff", err.Error())
		}
		return ImageInfo{}, err
	}
	if !t.hasWidth || !t.hasHeight {
		return ImageInfo{}, corrupt("tiff", "first directory lacks ImageWidth or ImageLength")
	}
	info, err := sized("tiff", t.width, t.height)
	info.Orientation = t.orientation
	return info, err
}
