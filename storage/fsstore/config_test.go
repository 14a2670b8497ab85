package fsstore_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage"
	"github.com/gormfile/gormfile/storage/fsstore"
)

func TestConfigErrors(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name    string
		cfg     storage.Config
		wantErr []string
	}{
		{"no MEDIA_ROOT", storage.Config{"MEDIA_URL": "/m/"}, []string{"MEDIA_ROOT", "required"}},
		{"empty MEDIA_ROOT", storage.Config{"MEDIA_ROOT": ""}, []string{"MEDIA_ROOT"}},
		{"AWS settings", storage.Config{"MEDIA_ROOT": root, "AWS_STORAGE_BUCKET_NAME": "b"},
			[]string{"AWS_STORAGE_BUCKET_NAME", "filesystem backend"}},
		{"unknown settings", storage.Config{"MEDIA_ROOT": root, "MEDIA_ROT": "x", "ZZ": 1},
			[]string{"MEDIA_ROT, ZZ"}},
		{"bad octal", storage.Config{"MEDIA_ROOT": root, "FILE_UPLOAD_PERMISSIONS": "0999"},
			[]string{"FILE_UPLOAD_PERMISSIONS", "octal"}},
		{"decimal digits of an octal mode",
			storage.Config{"MEDIA_ROOT": root, "FILE_UPLOAD_DIRECTORY_PERMISSIONS": 755},
			[]string{"FILE_UPLOAD_DIRECTORY_PERMISSIONS", "0777"}},
		{"zero mode", storage.Config{"MEDIA_ROOT": root, "FILE_UPLOAD_PERMISSIONS": "0"},
			[]string{"FILE_UPLOAD_PERMISSIONS"}},
		{"fraction", storage.Config{"MEDIA_ROOT": root, "FILE_UPLOAD_PERMISSIONS": 420.5},
			[]string{"FILE_UPLOAD_PERMISSIONS"}},
		{"bool mode", storage.Config{"MEDIA_ROOT": root, "FILE_UPLOAD_PERMISSIONS": true},
			[]string{"FILE_UPLOAD_PERMISSIONS"}},
		{"bad overwrite", storage.Config{"MEDIA_ROOT": root, "FILE_OVERWRITE": "maybe"},
			[]string{"FILE_OVERWRITE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := storage.Open(t.Context(), "filesystem", tt.cfg)
			if err == nil {
				t.Fatalf("Open = %T, want an error", s)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name              string
		backend           string
		cfg               storage.Config
		wantFile, wantDir fs.FileMode
		wantURL           string
		wantOverwrite     bool
	}{
		{"defaults", "filesystem", storage.Config{},
			0o644, 0o755, "/media/a%20b.txt", false},
		{"octal strings", "django.core.files.storage.FileSystemStorage",
			storage.Config{"FILE_UPLOAD_PERMISSIONS": "0640",
				"FILE_UPLOAD_DIRECTORY_PERMISSIONS": "0o750", "MEDIA_URL": "/files"},
			0o640, 0o750, "/files/a%20b.txt", false},
		{"numbers", "django.core.files.storage.filesystem.FileSystemStorage",
			storage.Config{"FILE_UPLOAD_PERMISSIONS": float64(0o664),
				"FILE_UPLOAD_DIRECTORY_PERMISSIONS": float64(0o775), "FILE_OVERWRITE": true,
				"MEDIA_URL": "https://cdn.example.test/m/"},
			0o664, 0o775, "https://cdn.example.test/m/a%20b.txt", true},
		{"nulls and strings", "filesystem",
			storage.Config{"FILE_UPLOAD_PERMISSIONS": nil, "FILE_OVERWRITE": "True",
				"MEDIA_URL": nil},
			0o644, 0o755, "/media/a%20b.txt", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "media")
			cfg := tt.cfg.With(map[string]any{"MEDIA_ROOT": root})
			st, err := storage.Open(t.Context(), tt.backend, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := st.(*fsstore.Storage)
			if !ok {
				t.Fatalf("Open gave %T, want *fsstore.Storage", st)
			}
			defer s.Close()
			if s.Root() != root {
				t.Errorf("Root() = %q, want %q", s.Root(), root)
			}
			ctx := t.Context()
			var keys []string
			for _, body := range []string{"first", "second"} {
				k, err := s.Save(ctx, "d/a b.txt", strings.NewReader(body), nil)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			if got := keys[0] == keys[1]; got != tt.wantOverwrite {
				t.Errorf("second Save gave %q after %q; overwrite = %v, want %v",
					keys[1], keys[0], got, tt.wantOverwrite)
			}
			for name, want := range map[string]fs.FileMode{"d": tt.wantDir, keys[0]: tt.wantFile} {
				fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(name)))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), want)
				}
			}
			if u, _ := s.URL(ctx, "a b.txt", nil); u != tt.wantURL {
				t.Errorf("URL = %q, want %q", u, tt.wantURL)
			}
		})
	}
}
