package field_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage"
)

// The benchmarks of this file cover the pure functions every saved or loaded row goes
// through. Run them with:
//
//	go test -run '^$' -bench . -benchmem ./field

var benchSinkString string

func BenchmarkValidName(b *testing.B) {
	names := []struct{ name, in string }{
		{"plain", "report.pdf"},
		{"spaces", "my file (1).bin"},
		{"windows-path", `C:\Users\me\Documents\quarterly report 2024.xlsx`},
		{"unicode", "façade été 東京.jpg"},
		{"long", strings.Repeat("abcdefghij", 20) + ".tar.gz"},
	}
	for _, n := range names {
		b.Run(n.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := field.ValidName(n.in)
				if err != nil {
					b.Fatal(err)
				}
				benchSinkString = s
			}
		})
	}
}

var benchTime = time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC)

func BenchmarkExpandUploadTo(b *testing.B) {
	patterns := []struct{ name, in string }{
		{"static", "devicetype-images"},
		{"date", "uploads/%Y/%m/%d"},
		{"all", "%Y-%y/%B-%b/%d/%j/%H%M%S/%%"},
	}
	for _, p := range patterns {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkString = field.ExpandUploadTo(p.in, benchTime)
			}
		})
	}
}

func BenchmarkJoinUploadTo(b *testing.B) {
	dirs := []struct{ name, dir, file string }{
		{"clean", "uploads/2024/03/09", "report.pdf"},
		{"messy", "/uploads//2024\\03/./09/", "report.pdf"},
		{"root", "", "report.pdf"},
	}
	for _, d := range dirs {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k, err := field.JoinUploadTo(d.dir, d.file)
				if err != nil {
					b.Fatal(err)
				}
				benchSinkString = k
			}
		})
	}
}

// BenchmarkKey builds a new key as a save does: the client's name cleaned, the
// upload-to expanded and joined, the key fitted to the column.
func BenchmarkKey(b *testing.B) {
	cases := []struct{ name, uploadTo, client string }{
		{"static", "devicetype-images", "front panel.png"},
		{"date", "uploads/%Y/%m/%d", `C:\scans\Invoice #42 (copy).pdf`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				name, err := field.ValidName(c.client)
				if err != nil {
					b.Fatal(err)
				}
				key, err := field.JoinUploadTo(field.ExpandUploadTo(c.uploadTo, benchTime), name)
				if err != nil {
					b.Fatal(err)
				}
				short, ok := storage.TruncateKey(key, field.DefaultMaxLength)
				if !ok {
					b.Fatal("key does not fit")
				}
				benchSinkString = short
			}
		})
	}
}

func BenchmarkFileScan(b *testing.B) {
	srcs := []struct {
		name string
		src  any
	}{
		{"string", "uploads/2024/03/09/report.pdf"},
		{"bytes", []byte("uploads/2024/03/09/report.pdf")},
		{"null", nil},
	}
	for _, s := range srcs {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			var f field.File
			for b.Loop() {
				if err := f.Scan(s.src); err != nil {
					b.Fatal(err)
				}
			}
			benchSinkString = f.Key()
		})
	}
}

func BenchmarkFileValue(b *testing.B) {
	var f field.File
	if err := f.Scan("uploads/2024/03/09/report.pdf"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := f.Value()
		if err != nil {
			b.Fatal(err)
		}
		benchSinkString = v.(string)
	}
}
