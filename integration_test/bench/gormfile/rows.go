package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gorm.io/gorm"

	"github.com/gormfile/gormfile/field"
)

// The cases of many small rows: inserts one by one and batched, and loads.

type smallRow struct {
	ID   uint
	Name string     `gorm:"size:64"`
	File field.File `gorm:"index" file:"upload_to:small"`
}

func (smallRow) TableName() string { return "small_rows" }

type smallPlain struct {
	ID   uint
	Name string `gorm:"size:64"`
	File string `gorm:"size:255;index"`
}

func (smallPlain) TableName() string { return "small_rows" }

// loadRow has two file columns in two storages: public gives plain URLs, signed
// presigned ones.
type loadRow struct {
	ID    uint
	Name  string     `gorm:"size:64"`
	Doc   field.File `gorm:"index" file:"upload_to:docs;storage:public"`
	Photo field.File `gorm:"index" file:"upload_to:photos;storage:signed"`
}

func (loadRow) TableName() string { return "load_rows" }

type loadPlain struct {
	ID    uint
	Name  string `gorm:"size:64"`
	Doc   string `gorm:"size:255;index"`
	Photo string `gorm:"size:255;index"`
}

func (loadPlain) TableName() string { return "load_rows" }

// smallContent returns the content of a small file: random bytes, the same for all.
func (b *bench) smallContent() []byte {
	if b.small == nil {
		b.small = make([]byte, b.sz.small)
		rand.Read(b.small)
	}
	return b.small
}

func oursLoop(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("loop")
	content := r.b.smallContent()
	db := r.db.ours.WithContext(r.ctx())
	do := func() error {
		for i := range r.b.sz.rows {
			row := smallRow{Name: fmt.Sprintf("%s-%d", tag, i),
				File: field.NewFile(bytes.NewReader(content), fmt.Sprintf("%s-%d.bin", tag, i))}
			if err := db.Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	}
	return do, r.checkSmall(tag, "small/"), nil
}

func oursBatch(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("batch")
	content := r.b.smallContent()
	rows := make([]smallRow, r.b.sz.rows)
	for i := range rows {
		rows[i] = smallRow{Name: fmt.Sprintf("%s-%d", tag, i),
			File: field.NewFile(bytes.NewReader(content), fmt.Sprintf("%s-%d.bin", tag, i))}
	}
	do := func() error {
		return r.db.ours.WithContext(r.ctx()).CreateInBatches(&rows, r.b.sz.batch).Error
	}
	return do, r.checkSmall(tag, "small/"), nil
}

func baseLoop(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("base")
	content := r.b.smallContent()
	db := r.db.plain.WithContext(r.ctx())
	do := func() error {
		for i := range r.b.sz.rows {
			key := fmt.Sprintf("base-small/%s-%d.bin", tag, i)
			_, err := r.b.client.PutObject(r.ctx(), &s3.PutObjectInput{
				Bucket:        &r.b.bucket,
				Key:           &key,
				Body:          bytes.NewReader(content),
				ContentLength: aws.Int64(int64(len(content))),
				ContentType:   aws.String("application/octet-stream"),
			})
			if err != nil {
				return err
			}
			if err := db.Create(&smallPlain{Name: fmt.Sprintf("%s-%d", tag, i),
				File: key}).Error; err != nil {
				return err
			}
		}
		return nil
	}
	return do, r.checkSmall(tag, "base-small/"), nil
}

// refConcurrent does by hand what CreateInBatches does with the plugin: in one
// transaction, for each batch, its objects uploaded 8 at a time, then its rows
// inserted in one statement. It shows what overlapping uploads can gain here.
func refConcurrent(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("conc")
	content := r.b.smallContent()
	rows := make([]smallPlain, r.b.sz.rows)
	for i := range rows {
		rows[i] = smallPlain{Name: fmt.Sprintf("%s-%d", tag, i),
			File: fmt.Sprintf("base-small/%s-%d.bin", tag, i)}
	}
	do := func() error {
		return r.db.plain.WithContext(r.ctx()).Transaction(func(tx *gorm.DB) error {
			for start := 0; start < len(rows); start += r.b.sz.batch {
				batch := rows[start:min(start+r.b.sz.batch, len(rows))]
				if err := r.putAll(batch, content, 8); err != nil {
					return err
				}
				if err := tx.Create(&batch).Error; err != nil {
					return err
				}
			}
			return nil
		})
	}
	return do, r.checkSmall(tag, "base-small/"), nil
}

// putAll uploads content under the keys of rows, n at a time.
func (r *run) putAll(rows []smallPlain, content []byte, n int) error {
	errs := make(chan error, len(rows))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := r.b.client.PutObject(r.ctx(), &s3.PutObjectInput{
				Bucket:        &r.b.bucket,
				Key:           &rows[i].File,
				Body:          bytes.NewReader(content),
				ContentLength: aws.Int64(int64(len(content))),
				ContentType:   aws.String("application/octet-stream"),
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// checkSmall checks that the run tag wrote all its rows and objects.
func (r *run) checkSmall(tag, dir string) func(error) error {
	return func(err error) error {
		if err != nil {
			return nil
		}
		var n int64
		if err := r.db.plain.Model(&smallPlain{}).Where("name LIKE ?", tag+"-%").
			Count(&n).Error; err != nil {
			return err
		}
		objs, err := r.countObjects(dir + tag + "-")
		if err != nil {
			return err
		}
		if int(n) != r.b.sz.rows || objs != r.b.sz.rows {
			return fmt.Errorf("%d rows and %d objects, want %d of each", n, objs, r.b.sz.rows)
		}
		return nil
	}
}

// countObjects counts the objects whose keys start with prefix.
func (r *run) countObjects(prefix string) (int, error) {
	n := 0
	pages := s3.NewListObjectsV2Paginator(r.b.client, &s3.ListObjectsV2Input{
		Bucket: &r.b.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(r.ctx())
		if err != nil {
			return 0, err
		}
		n += len(page.Contents)
	}
	return n, nil
}

// Loads.

// seedLoad fills load_rows, once per database, with keys as the plugin makes them,
// some with a non-ASCII letter.
func seedLoad(b *bench, d *dbEnv) error {
	var n int64
	if err := d.plain.Model(&loadPlain{}).Count(&n).Error; err != nil {
		return err
	}
	if int(n) == b.sz.load {
		return nil
	}
	rows := make([]loadPlain, b.sz.load)
	for i := range rows {
		photo := fmt.Sprintf("photos/front-panel_%05d.jpg", i)
		if i%10 == 0 {
			photo = fmt.Sprintf("photos/façade_%05d.jpg", i)
		}
		rows[i] = loadPlain{Name: fmt.Sprintf("row-%05d", i),
			Doc: fmt.Sprintf("docs/report_%05d.pdf", i), Photo: photo}
	}
	return d.plain.WithContext(b.ctx).CreateInBatches(rows, 500).Error
}

// findLoops is how many times a run of the find case loads the rows: one load takes
// some 15 ms, about as long as a garbage collection, which then decides a single one.
const findLoops = 10

func oursFind(r *run) (func() error, func(error) error, error) {
	var rows []loadRow
	do := func() error {
		for range findLoops {
			rows = nil
			if err := r.db.ours.WithContext(r.ctx()).Find(&rows).Error; err != nil {
				return err
			}
		}
		return nil
	}
	after := func(err error) error {
		if err == nil && len(rows) != r.b.sz.load {
			return fmt.Errorf("%d rows, want %d", len(rows), r.b.sz.load)
		}
		if err == nil && rows[0].Doc.Storage() == nil {
			return fmt.Errorf("row %d: the file is not bound to its storage", rows[0].ID)
		}
		return nil
	}
	return do, after, nil
}

func baseFind(r *run) (func() error, func(error) error, error) {
	var rows []loadPlain
	do := func() error {
		for range findLoops {
			rows = nil
			if err := r.db.plain.WithContext(r.ctx()).Find(&rows).Error; err != nil {
				return err
			}
		}
		return nil
	}
	after := func(err error) error {
		if err == nil && len(rows) != r.b.sz.load {
			return fmt.Errorf("%d rows, want %d", len(rows), r.b.sz.load)
		}
		return nil
	}
	return do, after, nil
}
