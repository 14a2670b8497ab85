package main

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gormfile/gormfile"
	"github.com/gormfile/gormfile/field"
)

// The delete case: each run first writes its rows and objects (not timed).

type delRow struct {
	ID   uint
	Name string     `gorm:"size:64"`
	File field.File `gorm:"index" file:"upload_to:del"`
}

func (delRow) TableName() string { return "del_rows" }

type delPlain struct {
	ID   uint
	Name string `gorm:"size:64"`
	File string `gorm:"size:255;index"`
}

func (delPlain) TableName() string { return "del_rows" }

func oursDelete(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("del")
	if err := r.seedDeletes(tag, "del/"); err != nil {
		return nil, nil, err
	}
	var rows []delRow
	if err := r.db.ours.Where("name LIKE ?", tag+"-%").Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	db := r.db.ours.WithContext(r.ctx())
	do := func() error {
		for i := range rows {
			if err := db.Delete(&rows[i]).Error; err != nil {
				return err
			}
		}
		// The plugin forgets done deletes in batches; the run counts the last one.
		return gormfile.PluginOf(db).Flush(r.ctx())
	}
	return do, r.checkDeleted(tag, "del/"), nil
}

func baseDelete(r *run) (func() error, func(error) error, error) {
	tag := r.b.tag("del")
	if err := r.seedDeletes(tag, "base-del/"); err != nil {
		return nil, nil, err
	}
	var rows []delPlain
	if err := r.db.plain.Where("name LIKE ?", tag+"-%").Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	db := r.db.plain.WithContext(r.ctx())
	do := func() error {
		for i := range rows {
			if err := db.Delete(&rows[i]).Error; err != nil {
				return err
			}
			_, err := r.b.client.DeleteObject(r.ctx(), &s3.DeleteObjectInput{
				Bucket: &r.b.bucket, Key: &rows[i].File})
			if err != nil {
				return err
			}
		}
		return nil
	}
	return do, r.checkDeleted(tag, "base-del/"), nil
}

// seedOtherRows gives the delete case's table -del-extra rows that no run deletes,
// once per database. Their objects are not written: only the rows are read.
func seedOtherRows(b *bench, d *dbEnv) error {
	var n int64
	if err := d.plain.Model(&delPlain{}).Where("name LIKE ?", "other-%").
		Count(&n).Error; err != nil {
		return err
	}
	if b.delExtra == 0 || int(n) >= b.delExtra {
		return nil
	}
	rows := make([]delPlain, b.delExtra-int(n))
	for i := range rows {
		rows[i] = delPlain{Name: fmt.Sprintf("other-%d", int(n)+i),
			File: fmt.Sprintf("other/%d.bin", int(n)+i)}
	}
	return d.plain.WithContext(b.ctx).CreateInBatches(rows, 500).Error
}

// seedDeletes writes rows and their objects for a delete run, 8 uploads at a time.
func (r *run) seedDeletes(tag, dir string) error {
	content := r.b.smallContent()
	rows := make([]delPlain, r.b.sz.rows)
	errs := make(chan error, len(rows))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range rows {
		rows[i] = delPlain{Name: fmt.Sprintf("%s-%d", tag, i),
			File: fmt.Sprintf("%s%s-%d.bin", dir, tag, i)}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := r.b.client.PutObject(r.ctx(), &s3.PutObjectInput{
				Bucket: &r.b.bucket, Key: &rows[i].File, Body: bytes.NewReader(content),
				ContentLength: aws.Int64(int64(len(content)))})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return r.db.plain.WithContext(r.ctx()).CreateInBatches(rows, 500).Error
}

// checkDeleted checks that the run tag left no row, object or pending delete.
func (r *run) checkDeleted(tag, dir string) func(error) error {
	return func(err error) error {
		if err != nil {
			return nil
		}
		var rows, pending int64
		if err := r.db.plain.Model(&delPlain{}).Where("name LIKE ?", tag+"-%").
			Count(&rows).Error; err != nil {
			return err
		}
		if err := r.db.plain.Model(&gormfile.PendingDelete{}).Count(&pending).Error; err != nil {
			return err
		}
		objs, err := r.countObjects(dir + tag + "-")
		if err != nil {
			return err
		}
		if rows+pending != 0 || objs != 0 {
			return fmt.Errorf("left %d rows, %d pending deletes and %d objects", rows, pending,
				objs)
		}
		return nil
	}
}
