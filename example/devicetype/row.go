package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gormfile/gormfile/example/internal/exampleapp"
	"github.com/gormfile/gormfile/field"
)

// side is one of the two panel images of a device type.
type side struct {
	name  string // "front" or "rear", as the commands say it
	field string // the Go name of the field, as field.ImageError names it
	image func(*DeviceType) *field.Image
}

var (
	front = side{"front", "FrontImage", func(d *DeviceType) *field.Image { return &d.FrontImage }}
	rear  = side{"rear", "RearImage", func(d *DeviceType) *field.Image { return &d.RearImage }}
)

// openImage opens a local image file for the side's column. The caller closes the file
// after the row is saved.
func (s side) openImage(path string) (field.Image, func(), error) {
	f, size, err := exampleapp.OpenUpload(path)
	if err != nil {
		return field.Image{}, nil, fmt.Errorf("%s image %q: %w", s.name, path, err)
	}
	img := field.NewImage(f, filepath.Base(path)).WithSize(size)
	return img, func() { f.Close() }, nil
}

// explainSave names the image a failed save refused. paths gives the local path given
// for each side's field; other errors are returned as they are.
func explainSave(err error, paths map[string]string) error {
	var ie *field.ImageError
	if !errors.As(err, &ie) {
		return err
	}
	for _, s := range []side{front, rear} {
		if s.field == ie.Field {
			return fmt.Errorf("%s image %q: refused: %s", s.name, paths[ie.Field], ie.Reason)
		}
	}
	return err
}

// deviceTypeRow is the JSON form of a device type. An absent image has an empty key
// and URLs and a zero size.
type deviceTypeRow struct {
	ID                 uint   `json:"id"`
	Manufacturer       string `json:"manufacturer"`
	Model              string `json:"model"`
	FrontImage         string `json:"front_image"`
	FrontImageURL      string `json:"front_image_url"`
	FrontImageThumbURL string `json:"front_image_thumb_url"`
	FrontImageWidth    int    `json:"front_image_width"`
	FrontImageHeight   int    `json:"front_image_height"`
	RearImage          string `json:"rear_image"`
	RearImageURL       string `json:"rear_image_url"`
	RearImageThumbURL  string `json:"rear_image_thumb_url"`
	RearImageWidth     int    `json:"rear_image_width"`
	RearImageHeight    int    `json:"rear_image_height"`
}

// toRow builds the JSON form of d, asking the storage for the URLs of the images and
// their thumbnails.
func toRow(ctx context.Context, d *DeviceType) (*deviceTypeRow, error) {
	row := &deviceTypeRow{
		ID:               d.ID,
		Manufacturer:     d.Manufacturer,
		Model:            d.Model,
		FrontImage:       d.FrontImage.Key(),
		FrontImageWidth:  d.FrontImageWidth,
		FrontImageHeight: d.FrontImageHeight,
		RearImage:        d.RearImage.Key(),
		RearImageWidth:   d.RearImageWidth,
		RearImageHeight:  d.RearImageHeight,
	}
	for _, u := range []struct {
		side string
		img  field.Image
		url  *string
		name string
	}{
		{"front", d.FrontImage, &row.FrontImageURL, ""},
		{"front", d.FrontImage, &row.FrontImageThumbURL, "thumb"},
		{"rear", d.RearImage, &row.RearImageURL, ""},
		{"rear", d.RearImage, &row.RearImageThumbURL, "thumb"},
	} {
		url, err := imageURL(ctx, u.img, u.name)
		if err != nil {
			return nil, fmt.Errorf("device type %d: %s image: %w", d.ID, u.side, err)
		}
		*u.url = url
	}
	return row, nil
}

// imageURL returns the URL of the image, or of its rendition when one is named; ""
// when the column holds no image.
func imageURL(ctx context.Context, img field.Image, rendition string) (string, error) {
	if img.Key() == "" {
		return "", nil
	}
	return img.URL(ctx, rendition)
}

// printRow prints d as one line of JSON.
func printRow(ctx context.Context, d *DeviceType) error {
	row, err := toRow(ctx, d)
	if err != nil {
		return err
	}
	return exampleapp.Print(row)
}
