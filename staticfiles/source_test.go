package staticfiles

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestScanLinks(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"lib.js": "lib", "sub/x.css": "x"})
	tests := []struct {
		name    string
		links   map[string]string // link name → target
		want    []string
		wantErr bool
	}{
		{"linked directory and file", map[string]string{
			"vendor":  outside,
			"lib2.js": filepath.Join(outside, "lib.js"),
		}, []string{"app.js", "lib2.js", "vendor/lib.js", "vendor/sub/x.css"}, false},
		{"dangling link", map[string]string{"gone.js": filepath.Join(outside, "gone")},
			nil, true},
		{"loop", map[string]string{"self": "."}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			writeTree(t, src, map[string]string{"app.js": "a"})
			for name, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
					t.Fatal(err)
				}
			}
			files, err := scan([]string{src}, DefaultIgnore)
			if (err != nil) != tt.wantErr {
				t.Fatalf("scan: err = %v, want an error: %v", err, tt.wantErr)
			}
			var keys []string
			for _, f := range files {
				keys = append(keys, f.key)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.want) {
				t.Errorf("keys = %q, want %q", keys, tt.want)
			}
		})
	}
}
