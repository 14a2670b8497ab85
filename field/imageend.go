package field

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The header tells an image's size but not whether the rest of the file is there. An
// endReader watches the content as it streams to the storage and, at its end, checks
// the format's closing bytes, so that a file cut short fails the save (the storage
// then keeps no object) without decoding a pixel:
//
//   - PNG ends with its IEND chunk;
//   - JPEG holds an end-of-image marker (FF D9) after its frame header, where entropy-
//     coded data can hold no FF D9;
//   - GIF ends with its trailer byte (3B), give or take a few bytes of padding;
//   - WebP is as long as its RIFF header says.
//
// BMP and TIFF are not checked: their writers do not keep their length fields right.

// errTruncated is wrapped by the error of content whose end is missing.
var errTruncated = errors.New("the file ends before the image does")

var pngEnd = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}

// endReader checks the end of an image of the given format read through it.
type endReader struct {
	r      io.Reader
	format string
	// skip is the length of the header, before which JPEG markers are not looked for
	// (an EXIF thumbnail holds its own end marker).
	skip int64

	n       int64
	tail    [16]byte
	tailLen int
	riff    uint32 // WebP: the RIFF length field
	sawEOI  bool
	prevFF  bool
	failed  bool
}

func newEndReader(r io.Reader, format string, headerLen int) io.Reader {
	switch format {
	case "png", "jpeg", "gif", "webp":
		return &endReader{r: r, format: format, skip: int64(headerLen)}
	}
	return r
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.watch(p[:n])
	if err == io.EOF {
		if cerr := e.check(); cerr != nil {
			e.failed = true
			return n, cerr
		}
	}
	return n, err
}

func (e *endReader) watch(b []byte) {
	start := e.n
	e.n += int64(len(b))
	if e.format == "webp" && start < 8 {
		var head [8]byte
		copy(head[start:], b)
		if e.n >= 8 {
			e.riff = binary.LittleEndian.Uint32(head[4:8])
		}
	}
	if e.format == "jpeg" && !e.sawEOI {
		for i, c := range b {
			if start+int64(i) < e.skip {
				continue
			}
			if e.prevFF && c == 0xD9 {
				e.sawEOI = true
				break
			}
			e.prevFF = c == 0xFF
		}
	}
	if len(b) >= len(e.tail) {
		copy(e.tail[:], b[len(b)-len(e.tail):])
		e.tailLen = len(e.tail)
		return
	}
	keep := min(e.tailLen, len(e.tail)-len(b))
	copy(e.tail[:], e.tail[e.tailLen-keep:e.tailLen])
	copy(e.tail[keep:], b)
	e.tailLen = keep + len(b)
}

func (e *endReader) check() error {
	tail := e.tail[:e.tailLen]
	switch e.format {
	case "png":
		if !bytes.HasSuffix(tail, pngEnd) {
			return fmt.Errorf("png: no IEND chunk at the end: %w", errTruncated)
		}
	case "jpeg":
		if !e.sawEOI {
			return fmt.Errorf("jpeg: no end-of-image marker: %w", errTruncated)
		}
	case "gif":
		if bytes.IndexByte(tail, 0x3B) < 0 {
			return fmt.Errorf("gif: no trailer at the end: %w", errTruncated)
		}
	case "webp":
		if want := int64(e.riff) + 8; e.n < want {
			return fmt.Errorf("webp: %d bytes, the RIFF header says %d: %w", e.n, want,
				errTruncated)
		}
	}
	return nil
}
