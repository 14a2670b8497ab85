package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile/field"
)

// Each table is reached through two models: one with file columns, which the plugin
// handles, and one with plain string columns, for the baseline.

type bigRow struct {
	ID   uint
	Name string     `gorm:"size:64"`
	File field.File `gorm:"index" file:"upload_to:big"`
}

func (bigRow) TableName() string { return "big_rows" }

type bigPlain struct {
	ID   uint
	Name string `gorm:"size:64"`
	File string `gorm:"size:255;index"`
}

func (bigPlain) TableName() string { return "big_rows" }

// benchCase is one line of the table.
type benchCase struct {
	id     string
	title  string
	big    bool // uses the large file
	perDB  bool // measured on each database; otherwise on the first only
	target string
	// met reports whether the library's side meets the target, given the ratio of its
	// median time to the baseline's.
	met func(ratio float64, ours summary) bool
	// setup runs once per database before the runs; it is not timed.
	setup func(b *bench, d *dbEnv) error
	ours  side
	// bases are ways of doing the baseline's work; the fastest median is the baseline.
	bases []side
	// refs are further ways, measured and shown but not compared with the target.
	refs []side
}

const maxBigHeap = 64 << 20

func allCases() []*benchCase {
	atMost := func(limit float64) func(float64, summary) bool {
		return func(r float64, _ summary) bool { return r <= limit }
	}
	bigTarget := func(r float64, s summary) bool { return r <= 1.05 && s.heap <= maxBigHeap }
	return []*benchCase{
		{id: "file1g", title: "one 1 GiB file saved with its row", big: true, perDB: true,
			target: "≤ 1.05, heap ≤ 64 MiB", met: bigTarget,
			ours: side{"Create(*os.File)", oursBigFile},
			bases: []side{{"PutObject+insert", basePutFile},
				{"transfermanager+insert", baseManagerFile}}},
		{id: "pipe1g", title: "the same from an unseekable stream", big: true, perDB: true,
			target: "≤ 1.05, heap ≤ 64 MiB", met: bigTarget,
			ours:  side{"Create(io.Pipe)", oursBigPipe},
			bases: []side{{"transfermanager(pipe)+insert", baseManagerPipe}}},
		{id: "loop", title: "rows × 4 KiB, one by one", perDB: true,
			target: "≤ 1.25", met: atMost(1.25),
			ours:  side{"Create loop", oursLoop},
			bases: []side{{"PutObject+insert loop", baseLoop}}},
		{id: "batch", title: "rows × 4 KiB, batched", perDB: true,
			target: "≤ 0.50 (≥ 2× faster)", met: atMost(0.50),
			ours:  side{"CreateInBatches", oursBatch},
			bases: []side{{"PutObject+insert loop", baseLoop}},
			refs:  []side{{"8 PutObject at once+CreateInBatches", refConcurrent}}},
		{id: "find", title: "rows loaded, 10 times a run", perDB: true,
			target: "≤ 1.10", met: atMost(1.10), setup: seedLoad,
			ours:  side{"Find, 2 file columns", oursFind},
			bases: []side{{"Find, 2 string columns", baseFind}}},
		{id: "url-public", title: "URLs, public",
			target: "≤ 2.0", met: atMost(2.0), setup: loadForURLs,
			ours:  side{"File.URL", oursPublicURL},
			bases: []side{{"by hand", basePublicURL}}},
		{id: "url-presigned", title: "URLs, presigned",
			target: "≤ 1.10", met: atMost(1.10), setup: loadForURLs,
			ours:  side{"File.URL", oursPresignedURL},
			bases: []side{{"PresignGetObject", basePresignedURL}}},
		{id: "delete", title: "hard deletes", perDB: true,
			target: "≤ 1.25", met: atMost(1.25), setup: seedOtherRows,
			ours:  side{"Delete, objects after commit", oursDelete},
			bases: []side{{"delete+DeleteObject loop", baseDelete}}},
	}
}

func caseIDs() []string {
	var ids []string
	for _, c := range allCases() {
		ids = append(ids, c.id)
	}
	return ids
}

// The 1 GiB cases.

func oursBigFile(r *run) (func() error, func(error) error, error) {
	f, err := os.Open(r.b.bigPath)
	if err != nil {
		return nil, nil, err
	}
	tag := r.b.tag("file")
	row := bigRow{Name: tag, File: field.NewFile(f, tag+".bin")}
	do := func() error { return r.db.ours.WithContext(r.ctx()).Create(&row).Error }
	after := func(err error) error {
		f.Close()
		if err != nil {
			return nil
		}
		return r.checkBig(tag, row.File.Key())
	}
	return do, after, nil
}

func basePutFile(r *run) (func() error, func(error) error, error) {
	f, err := os.Open(r.b.bigPath)
	if err != nil {
		return nil, nil, err
	}
	tag := r.b.tag("put")
	key := "base-big/" + tag + ".bin"
	do := func() error {
		_, err := r.b.client.PutObject(r.ctx(), &s3.PutObjectInput{
			Bucket:        &r.b.bucket,
			Key:           &key,
			Body:          f,
			ContentLength: aws.Int64(r.b.sz.big),
			ContentType:   aws.String("application/octet-stream"),
		})
		if err != nil {
			return err
		}
		return r.db.plain.WithContext(r.ctx()).Create(&bigPlain{Name: tag, File: key}).Error
	}
	after := func(err error) error {
		f.Close()
		if err != nil {
			return nil
		}
		return r.checkBig(tag, key)
	}
	return do, after, nil
}

func baseManagerFile(r *run) (func() error, func(error) error, error) {
	f, err := os.Open(r.b.bigPath)
	if err != nil {
		return nil, nil, err
	}
	tag := r.b.tag("tm")
	key := "base-big/" + tag + ".bin"
	do := func() error { return r.managerUpload(tag, key, f) }
	after := func(err error) error {
		f.Close()
		if err != nil {
			return nil
		}
		return r.checkBig(tag, key)
	}
	return do, after, nil
}

// managerUpload sends body with the SDK's transfer manager and inserts the row.
func (r *run) managerUpload(tag, key string, body io.Reader) error {
	_, err := r.b.tm.UploadObject(r.ctx(), &transfermanager.UploadObjectInput{
		Bucket:      &r.b.bucket,
		Key:         &key,
		Body:        body,
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return err
	}
	return r.db.plain.WithContext(r.ctx()).Create(&bigPlain{Name: tag, File: key}).Error
}

var errStopped = errors.New("the upload stopped reading")

// pipeRun feeds the large file into a pipe while upload reads the other end.
func (r *run) pipeRun(pr *io.PipeReader, pw *io.PipeWriter, upload func() error) error {
	fed := make(chan error, 1)
	go func() {
		f, err := os.Open(r.b.bigPath)
		if err == nil {
			// Hide WriteTo, so that the copy goes through io.Copy's 32 KiB buffer, as a
			// request body would.
			_, err = io.Copy(pw, struct{ io.Reader }{f})
			f.Close()
		}
		pw.CloseWithError(err)
		fed <- err
	}()
	err := upload()
	pr.CloseWithError(errStopped)
	if ferr := <-fed; err == nil && ferr != nil {
		err = fmt.Errorf("feeding the pipe: %w", ferr)
	}
	return err
}

func oursBigPipe(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("pipe")
	pr, pw := io.Pipe()
	row := bigRow{Name: tag, File: field.NewFile(pr, tag+".bin")}
	do := func() error {
		return r.pipeRun(pr, pw, func() error {
			return r.db.ours.WithContext(r.ctx()).Create(&row).Error
		})
	}
	after := func(err error) error {
		if err != nil {
			return nil
		}
		return r.checkBig(tag, row.File.Key())
	}
	return do, after, nil
}

func baseManagerPipe(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("tmpipe")
	key := "base-big/" + tag + ".bin"
	pr, pw := io.Pipe()
	do := func() error {
		return r.pipeRun(pr, pw, func() error { return r.managerUpload(tag, key, pr) })
	}
	after := func(err error) error {
		if err != nil {
			return nil
		}
		return r.checkBig(tag, key)
	}
	return do, after, nil
}

// checkBig checks that the row named tag holds key and that the object has the large
// file's size, then deletes the object, so that the server keeps one at most.
func (r *run) checkBig(tag, key string) error {
	var got []string
	err := r.db.plain.Model(&bigPlain{}).Where("name = ?", tag).Pluck("file", &got).Error
	if err != nil {
		return err
	}
	if len(got) != 1 || got[0] != key {
		return fmt.Errorf("row %s holds %q, want [%s]", tag, got, key)
	}
	out, err := r.b.client.HeadObject(r.ctx(), &s3.HeadObjectInput{Bucket: &r.b.bucket,
		Key: &key})
	if err != nil {
		return err
	}
	if n := aws.ToInt64(out.ContentLength); n != r.b.sz.big {
		return fmt.Errorf("object %s: %d bytes, want %d", key, n, r.b.sz.big)
	}
	_, err = r.b.client.DeleteObject(r.ctx(), &s3.DeleteObjectInput{Bucket: &r.b.bucket,
		Key: &key})
	return err
}
