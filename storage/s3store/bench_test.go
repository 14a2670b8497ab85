package s3store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/storage/s3store"
)

// The benchmarks of this file cover URL building, which needs no server: a plain URL
// is computed, a presigned one signed locally. Run them with:
//
//	go test -run '^$' -bench . -benchmem ./storage/s3store

var benchSinkString string

// benchClient returns a client that never sends a request here.
func benchClient() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:9000"),
		UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCHBENCH",
			"benchmark/secret/key/benchmark/secret/key", ""),
	})
}

func BenchmarkEscapeKey(b *testing.B) {
	keys := []struct{ name, key string }{
		{"plain", "media/uploads/2024/03/report_x7Gq2Ab.pdf"},
		{"escaped", "media/photos/façade été (1)+東京.jpg"},
		{"long", "media/" + strings.Repeat("segment/", 30) + "file.bin"},
	}
	for _, k := range keys {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkString = s3store.EscapeKey(k.key)
			}
		})
	}
}

func BenchmarkURL(b *testing.B) {
	ctx := context.Background()
	stores := []struct {
		name string
		opts s3store.Options
	}{
		{"plain/path-style", s3store.Options{Bucket: "media-bucket", Location: "media"}},
		{"plain/custom-domain", s3store.Options{Bucket: "media-bucket", Location: "media",
			CustomDomain: "cdn.example.com/assets"}},
		{"plain/public-endpoint", s3store.Options{Bucket: "media-bucket", Location: "media",
			PublicEndpoint: "https://files.example.com"}},
		{"presigned", s3store.Options{Bucket: "media-bucket", Location: "media",
			QuerystringAuth: true}},
	}
	keys := []struct{ name, key string }{
		{"plain", "uploads/2024/03/report_x7Gq2Ab.pdf"},
		{"escaped", "photos/façade été (1)+東京.jpg"},
	}
	for _, st := range stores {
		s, err := s3store.New(benchClient(), &st.opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range keys {
			b.Run(st.name+"/"+k.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					u, err := s.URL(ctx, k.key, nil)
					if err != nil {
						b.Fatal(err)
					}
					benchSinkString = u
				}
			})
		}
	}
}

func BenchmarkAttachment(b *testing.B) {
	names := []struct{ name, in string }{
		{"ascii", "report.pdf"},
		{"unicode", "rapport été 2024.pdf"},
	}
	for _, n := range names {
		b.Run(n.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkString = s3store.Attachment(n.in)
			}
		})
	}
}
