package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fakeEnv returns an environment whose variables are vars and whose output goes to
// the returned buffers.
func fakeEnv(vars map[string]string, terminal bool) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{stdout: &out, stderr: &errOut, terminal: terminal,
		getenv: func(k string) string { return vars[k] }}, &out, &errOut
}

func fsConfig(t *testing.T, root string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"MEDIA_ROOT": root, "MEDIA_URL": "/static/"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		name := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// files lists the regular files under root, relative and slash-separated.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

var summaryRE = regexp.MustCompile(`(?m)^(\d+) copied, (\d+) unmodified, (\d+) deleted ` +
	`in \d+\.\d\d s`)

func TestCollectStatic(t *testing.T) {
	src, media, static := t.TempDir(), t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"css/app.css": "body{}", "js/app.js": "x()",
		".hidden": "no", "app.js.map": "{}"})
	writeFiles(t, static, map[string]string{"stale.txt": "old"})
	vars := map[string]string{
		"STORAGE_BACKEND":       "filesystem",
		"STORAGE_CONFIG":        fsConfig(t, media),
		"STATIC_STORAGE_CONFIG": fsConfig(t, static),
	}
	tests := []struct {
		name     string
		args     []string
		terminal bool
		summary  string // copied, unmodified, deleted
		lines    []string
		want     []string // the files of static afterwards
	}{
		{"dry run", []string{"--dry-run", "--clear", "--ignore", "*.map"}, false, "2 0 1",
			[]string{"copied css/app.css", "copied js/app.js", "deleted stale.txt"},
			[]string{"stale.txt"}},
		{"first run", []string{"--ignore", "*.map", "--cache-control", "max-age=60"},
			false, "2 0 0", []string{"copied css/app.css", "copied js/app.js"},
			[]string{"css/app.css", "js/app.js", "stale.txt"}},
		{"re-run on a terminal", []string{"--ignore", "*.map", "--clear"}, true, "0 2 1",
			nil, []string{"css/app.css", "js/app.js"}},
		{"manifest", []string{"--ignore", "*.map", "--manifest"}, false, "3 2 0",
			[]string{"copied staticfiles.json"}, []string{"css/app.aa676972bbd2.css",
				"css/app.css", "js/app.21935a98327b.js", "js/app.js", "staticfiles.json"}},
		{"no default ignore", []string{"--no-default-ignore", "--jobs", "1", "--verbose"},
			false, "2 2 0", []string{"copied .hidden", "unmodified css/app.css",
				"copied app.js.map"},
			[]string{".hidden", "app.js.map", "css/app.aa676972bbd2.css", "css/app.css",
				"js/app.21935a98327b.js", "js/app.js", "staticfiles.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, errOut := fakeEnv(vars, tt.terminal)
			args := append([]string{"collectstatic", "--source", src}, tt.args...)
			if code := run(context.Background(), e, args); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			m := summaryRE.FindStringSubmatch(out.String())
			if m == nil || strings.Join(m[1:], " ") != tt.summary {
				t.Errorf("output %q, want the summary %s", out, tt.summary)
			}
			for _, line := range tt.lines {
				if !slices.Contains(strings.Split(out.String(), "\n"), line) {
					t.Errorf("output %q lacks the line %q", out, line)
				}
			}
			counter := "\r3/3 files: 0 copied, 2 unmodified, 1 deleted"
			if tt.terminal && !strings.Contains(out.String(), counter) {
				t.Errorf("output %q, want a counter", out)
			}
			if got := files(t, static); !slices.Equal(got, tt.want) {
				t.Errorf("static files = %q, want %q", got, tt.want)
			}
		})
	}
	if got := files(t, media); len(got) != 0 {
		t.Errorf("media got files %q: STATIC_STORAGE_CONFIG was not used", got)
	}
}

func TestCollectStaticStorageSelection(t *testing.T) {
	src, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"app.css": "body{}"})
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string // the root that gets the file
	}{
		{"STORAGE_CONFIG", map[string]string{"STORAGE_CONFIG": fsConfig(t, a)}, nil, a},
		{"STATIC_STORAGE_CONFIG first", map[string]string{"STORAGE_CONFIG": fsConfig(t, a),
			"STATIC_STORAGE_CONFIG": fsConfig(t, b)}, nil, b},
		{"flags first", map[string]string{"STATIC_STORAGE_BACKEND": "s3",
			"STATIC_STORAGE_CONFIG": "{}"},
			[]string{"--storage-backend", "filesystem", "--storage-config", fsConfig(t, a)},
			a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(a, "app.css"))
			os.RemoveAll(filepath.Join(b, "app.css"))
			e, _, errOut := fakeEnv(tt.vars, false)
			args := append([]string{"collectstatic", "--source", src}, tt.args...)
			if code := run(context.Background(), e, args); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if _, err := os.Stat(filepath.Join(tt.want, "app.css")); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCollectStaticFailures(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"app.css": "body{}", "sub/x.js": "x"})
	// A directory where the storage must write a file makes that key fail.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "app.css", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"STORAGE_CONFIG": fsConfig(t, root)}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"failing key", []string{"collectstatic", "--source", src}, 1, "app.css"},
		{"no source", []string{"collectstatic"}, 2, "--source"},
		{"bad jobs", []string{"collectstatic", "--source", src, "--jobs", "0"}, 2, "--jobs"},
		{"unknown flag", []string{"collectstatic", "--nope"}, 2, "nope"},
		{"unknown command", []string{"migrate"}, 2, "migrate"},
		{"no command", nil, 2, "usage"},
		{"bad config", []string{"collectstatic", "--source", src, "--storage-config", "["},
			1, "JSON"},
		{"clear of the media storage", []string{"collectstatic", "--source", src, "--clear"},
			2, "STATIC_STORAGE_CONFIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, errOut := fakeEnv(vars, false)
			code := run(context.Background(), e, tt.args)
			if code != tt.code || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code,
					tt.wantErr)
			}
		})
	}
}
