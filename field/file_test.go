package field_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gormfile/gormfile/field"
	"github.com/gormfile/gormfile/storage/memstore"
)

func TestScanValue(t *testing.T) {
	tests := []struct {
		name string
		src  any
		want string
	}{
		{"NULL", nil, ""},
		{"empty", "", ""},
		{"string", "uploads/a.bin", "uploads/a.bin"},
		{"bytes", []byte("uploads/b.bin"), "uploads/b.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f field.File
			if err := f.Scan(tt.src); err != nil {
				t.Fatal(err)
			}
			v, err := f.Value()
			if err != nil || v != tt.want || f.Key() != tt.want {
				t.Errorf("Value() = %v, %v; Key() = %q; want %q", v, err, f.Key(), tt.want)
			}
			if f.Pending() {
				t.Error("a scanned value reports pending content")
			}
		})
	}
	var f field.File
	if err := f.Scan(42); err == nil {
		t.Error("Scan(42) gave no error")
	}
}

func TestUnsavedValueIsAnError(t *testing.T) {
	f := field.NewFile(strings.NewReader("x"), "a.bin")
	if _, err := f.Value(); err == nil || !strings.Contains(err.Error(), "db.Use") {
		t.Errorf("Value() of unsaved content: %v", err)
	}
	if _, err := f.URL(context.Background()); !errors.Is(err, field.ErrNoFile) {
		t.Errorf("URL() of unsaved content: %v", err)
	}
	var loaded field.File
	loaded.Scan("a.bin")
	if _, err := loaded.Open(context.Background()); !errors.Is(err, field.ErrUnbound) {
		t.Errorf("Open() without a storage: %v", err)
	}
}

func TestParseSettings(t *testing.T) {
	s, err := field.ParseSettings("upload_to:docs/%Y;storage:media;max_pixels:100", 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.UploadTo != "docs/%Y" || s.Storage != "media" || s.MaxLength != 255 || s.MaxPixels != 100 {
		t.Errorf("settings %+v", s)
	}
	if _, err := field.ParseSettings("uplod_to:x", 0); err == nil {
		t.Error("a misspelt setting gave no error")
	}
	if s, _ := field.ParseSettings("", 80); s.Storage != "default" || s.MaxLength != 80 {
		t.Errorf("defaults %+v", s)
	}
}

// rowWithUploadTo computes its keys in Go.
type rowWithUploadTo struct{ Owner string }

func (r *rowWithUploadTo) UploadTo(fieldName, filename string) (string, error) {
	return "users/" + r.Owner + "/" + strings.ToLower(fieldName) + "/" + filename, nil
}

func TestSaveKeys(t *testing.T) {
	now := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		uploadTo string
		row      any
		client   string
		max      int
		want     string
	}{
		{"fixed path", "uploads/", nil, "my file (1).bin", 255, "uploads/my_file_1.bin"},
		{"date patterns", "docs/%Y/%m/%d", nil, "a.txt", 255, "docs/2026/03/09/a.txt"},
		{"no upload-to", "", nil, "../../etc/passwd", 255, "passwd"},
		{"Go function", "ignored", &rowWithUploadTo{"ann"}, "C:\\x\\cv.pdf", 255,
			"users/ann/attachment/cv.pdf"},
		{"shortened stem", "u", nil, strings.Repeat("n", 40) + ".tar.gz", 20, "u/nnnnnnnnnnn.tar.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New(nil)
			f := field.NewFile(strings.NewReader("body"), tt.client)
			err := f.Save(context.Background(), &field.SaveContext{
				Storage:  st,
				Settings: &field.Settings{UploadTo: tt.uploadTo, MaxLength: tt.max},
				Row:      tt.row,
				Field:    "Attachment",
				Now:      now,
			})
			if err != nil {
				t.Fatal(err)
			}
			if f.Key() != tt.want {
				t.Errorf("key %q, want %q", f.Key(), tt.want)
			}
			if v, err := f.Value(); err != nil || v != tt.want {
				t.Errorf("Value() = %v, %v", v, err)
			}
		})
	}
}

func TestImageSave(t *testing.T) {
	settings, _ := field.ParseSettings("upload_to:img", 0)
	save := func(t *testing.T, path string) (field.Image, *memstore.Storage, error) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st := memstore.New(nil)
		img := field.NewImage(bytes.NewReader(raw), "x.png")
		err = img.Save(context.Background(), &field.SaveContext{
			Storage: st, Settings: settings, Field: "Front", Now: time.Now(),
		})
		return img, st, err
	}
	tests := []struct {
		file          string
		width, height int
		refused       bool
	}{
		{"testdata/front-panel.png", 1200, 220, false},
		{"testdata/orientation-6.jpg", 200, 400, false},
		{"testdata/alpha-vp8x.webp", 320, 240, false},
		{"testdata/not-an-image.png", 0, 0, true},
		{"testdata/svg-as.png", 0, 0, true},
		{"testdata/bomb-20000x20000.png", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			img, st, err := save(t, tt.file)
			if tt.refused {
				var ie *field.ImageError
				if !errors.As(err, &ie) || ie.Field != "Front" {
					t.Fatalf("err = %v, want *field.ImageError for Front", err)
				}
				if st.Len() != 0 {
					t.Error("a refused image was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Width() != tt.width || img.Height() != tt.height {
				t.Errorf("size %d×%d, want %d×%d", img.Width(), img.Height(), tt.width, tt.height)
			}
			want, _ := os.ReadFile(tt.file)
			r, err := st.Open(context.Background(), img.Key())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(got, want) {
				t.Error("stored bytes differ from the file")
			}
		})
	}
}

func TestSaveContentChecks(t *testing.T) {
	settings := &field.Settings{UploadTo: "u", MaxLength: 255}
	save := func(f field.File) (*memstore.Storage, error) {
		st := memstore.New(nil)
		err := f.Save(context.Background(), &field.SaveContext{Storage: st, Settings: settings})
		return st, err
	}

	t.Run("reader already read is rewound", func(t *testing.T) {
		r := bytes.NewReader([]byte("whole content"))
		io.ReadAll(r)
		f := field.NewFile(r, "a.txt")
		st, err := save(f)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := st.Open(context.Background(), f.Key())
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "whole content" {
			t.Errorf("stored %q", got)
		}
	})
	t.Run("stream shorter than its size", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() { pw.Write([]byte("12345")); pw.Close() }()
		st, err := save(field.NewFile(pr, "a.bin").WithSize(10))
		if !errors.Is(err, field.ErrSizeMismatch) || st.Len() != 0 {
			t.Errorf("err = %v, %d objects; want ErrSizeMismatch and none", err, st.Len())
		}
	})
	t.Run("stream longer than its size", func(t *testing.T) {
		st, err := save(field.NewFile(io.LimitReader(zeros{}, 100), "a.bin").WithSize(10))
		if !errors.Is(err, field.ErrSizeMismatch) || st.Len() != 0 {
			t.Errorf("err = %v, %d objects; want ErrSizeMismatch and none", err, st.Len())
		}
	})
	for _, tt := range []struct{ name, body, want string }{
		{"README", "plain words\n", "text/plain; charset=utf-8"},
		{"blob", "\x89PNG\r\n\x1a\n0000", "image/png"},
		{"page.html", "\x89PNG\r\n\x1a\n0000", "text/html; charset=utf-8"},
	} {
		t.Run("content type of "+tt.name, func(t *testing.T) {
			f := field.NewFile(strings.NewReader(tt.body), tt.name)
			st, err := save(f)
			if err != nil {
				t.Fatal(err)
			}
			a, err := st.Stat(context.Background(), f.Key())
			if err != nil || a.ContentType != tt.want {
				t.Errorf("content type %q, %v; want %q", a.ContentType, err, tt.want)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestImageCutShortIsRefused(t *testing.T) {
	settings, _ := field.ParseSettings("upload_to:img", 0)
	for _, name := range []string{"front-panel.png", "rear-panel.jpg", "orientation-6.jpg",
		"small.gif", "front-panel-lossy.webp", "alpha-vp8x.webp", "truncated.png"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		cuts := map[string][]byte{"half": raw[:len(raw)/2], "all but 3 bytes": raw[:len(raw)-3]}
		if name == "truncated.png" {
			cuts = map[string][]byte{"as shipped": raw}
		}
		for cut, body := range cuts {
			t.Run(name+"/"+cut, func(t *testing.T) {
				st := memstore.New(nil)
				img := field.NewImage(bytes.NewReader(body), name)
				err := img.Save(context.Background(), &field.SaveContext{
					Storage: st, Settings: settings, Field: "Front", Now: time.Now(),
				})
				var ie *field.ImageError
				if !errors.As(err, &ie) || !errors.Is(err, field.ErrCorrupt) {
					t.Errorf("err = %v, want *field.ImageError wrapping ErrCorrupt", err)
				}
				if st.Len() != 0 {
					t.Error("an image cut short was stored")
				}
			})
		}
	}
}
