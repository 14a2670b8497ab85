package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The URL cases: the rows are loaded once, through each model.

func loadForURLs(b *bench, d *dbEnv) error {
	if err := seedLoad(b, d); err != nil {
		return err
	}
	if b.loaded != nil {
		return nil
	}
	if err := d.ours.Order("id").Find(&b.loaded).Error; err != nil {
		return err
	}
	return d.plain.Order("id").Find(&b.loadedPlain).Error
}

// handURL builds a plain URL the way an application would without the library: the
// bucket's address and the key, each segment escaped.
func handURL(prefix, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return prefix + strings.Join(segs, "/")
}

func (b *bench) publicPrefix() string {
	return b.srv.Endpoint + "/" + b.bucket + "/media/"
}

func oursPublicURL(r *run) (func() error, func(error) error, error) {
	rows, out := r.b.loaded, make([]string, len(r.b.loaded))
	ctx := r.ctx()
	do := func() error {
		for i := range rows {
			u, err := rows[i].Doc.URL(ctx)
			if err != nil {
				return err
			}
			out[i] = u
		}
		return nil
	}
	return do, r.sameURLs(out, r.b.publicPrefix(), false), nil
}

func basePublicURL(r *run) (func() error, func(error) error, error) {
	rows, out := r.b.loadedPlain, make([]string, len(r.b.loadedPlain))
	prefix := r.b.publicPrefix()
	do := func() error {
		for i := range rows {
			out[i] = handURL(prefix, rows[i].Doc)
		}
		return nil
	}
	return do, r.sameURLs(out, prefix, false), nil
}

func oursPresignedURL(r *run) (func() error, func(error) error, error) {
	rows, out := r.b.loaded, make([]string, len(r.b.loaded))
	ctx := r.ctx()
	do := func() error {
		for i := range rows {
			u, err := rows[i].Photo.URL(ctx)
			if err != nil {
				return err
			}
			out[i] = u
		}
		return nil
	}
	return do, r.sameURLs(out, r.b.publicPrefix(), true), nil
}

func basePresignedURL(r *run) (func() error, func(error) error, error) {
	rows, out := r.b.loadedPlain, make([]string, len(r.b.loadedPlain))
	ctx := r.ctx()
	do := func() error {
		for i := range rows {
			req, err := r.b.presign.PresignGetObject(ctx, &s3.GetObjectInput{
				Bucket: &r.b.bucket,
				Key:    aws.String("media/" + rows[i].Photo),
			}, s3.WithPresignExpires(time.Hour))
			if err != nil {
				return err
			}
			out[i] = req.URL
		}
		return nil
	}
	return do, r.sameURLs(out, r.b.publicPrefix(), true), nil
}

// sameURLs checks that every URL built is the hand-built one for its row: whole for
// plain URLs, up to the query, which must hold a signature, for presigned ones.
func (r *run) sameURLs(out []string, prefix string, signed bool) func(error) error {
	return func(err error) error {
		if err != nil {
			return nil
		}
		for i, u := range out {
			row := r.b.loadedPlain[i]
			want := handURL(prefix, row.Doc)
			if signed {
				want = handURL(prefix, row.Photo)
				var query string
				u, query, _ = strings.Cut(u, "?")
				if !strings.Contains(query, "X-Amz-Signature=") {
					return fmt.Errorf("row %d: unsigned URL %s?%s", row.ID, u, query)
				}
			}
			if u != want {
				return fmt.Errorf("row %d: URL %s, want %s", row.ID, u, want)
			}
		}
		return nil
	}
}
