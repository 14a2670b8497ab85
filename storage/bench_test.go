package storage_test

import (
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
)

// The benchmarks of this file cover the key functions every save and URL goes through.
// Run them with:
//
//	go test -run '^$' -bench . -benchmem ./storage

var (
	benchSinkString string
	benchSinkBool   bool
)

func BenchmarkAlternativeName(b *testing.B) {
	cases := []struct {
		name, key string
		max       int
	}{
		{"unbounded", "uploads/2024/03/report.pdf", 0},
		{"fitted", "uploads/2024/03/" + strings.Repeat("r", 80) + ".tar.gz", 64},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k, err := storage.AlternativeName(c.key, c.max)
				if err != nil {
					b.Fatal(err)
				}
				benchSinkString = k
			}
		})
	}
}

func BenchmarkValidKey(b *testing.B) {
	keys := []struct{ name, key string }{
		{"short", "uploads/report.pdf"},
		{"deep", "media/uploads/2024/03/09/14/devicetype-images/front-panel_x7Gq2Ab.png"},
		{"unicode", "photos/façade été 東京.jpg"},
	}
	for _, k := range keys {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkBool = storage.ValidKey(k.key)
			}
			if !benchSinkBool {
				b.Fatalf("%q: not valid", k.key)
			}
		})
	}
}

func BenchmarkTruncateKey(b *testing.B) {
	key := "uploads/2024/03/" + strings.Repeat("long-name-", 30) + ".tar.gz"
	b.ReportAllocs()
	for b.Loop() {
		k, ok := storage.TruncateKey(key, 255)
		if !ok {
			b.Fatal("does not fit")
		}
		benchSinkString = k
	}
}

func BenchmarkJoinLocation(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchSinkString = storage.JoinLocation("media", "uploads/2024/03/report.pdf")
	}
}

func BenchmarkContentTypeByName(b *testing.B) {
	names := []struct{ name, key string }{
		{"table", "uploads/front.png"},
		{"system", "uploads/data.parquet"},
		{"none", "uploads/README"},
	}
	for _, n := range names {
		b.Run(n.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkString = storage.ContentTypeByName(n.key)
			}
		})
	}
}
