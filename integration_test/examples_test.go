package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/gormfile/gormfile/storage"
	_ "github.com/gormfile/gormfile/storage/fsstore"
	"github.com/gormfile/gormfile/storage/s3store"
)

// The examples are run as their users run them: built from the repository, configured
// through DATABASE_URL, STORAGE_BACKEND and STORAGE_CONFIG, their JSON output read.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func exampleBin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gormfile-examples-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./example/devicetype",
			"./example/softwareattachment")
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + ": " + string(e.out) }

// exampleEnv is one database and storage configuration for the example commands, and
// the storages to look into.
type exampleEnv struct {
	vars     []string
	media    storage.Storage
	swMedia  storage.Storage
	fetchURL func(t *testing.T, url string) []byte
}

func eachExampleEnv(t *testing.T, fn func(t *testing.T, e *exampleEnv)) {
	dbs := []string{"sqlite"}
	if os.Getenv("TEST_POSTGRES_DSN") != "" {
		dbs = append(dbs, "postgres")
	}
	for _, dbName := range dbs {
		for _, backend := range []string{"filesystem", "s3"} {
			t.Run(dbName+"/"+backend, func(t *testing.T) {
				e := &exampleEnv{}
				dir := t.TempDir()
				if dbName == "sqlite" {
					e.vars = append(e.vars, "DATABASE_URL="+filepath.Join(dir, "app.db"))
				} else {
					e.vars = append(e.vars, "DATABASE_URL="+postgresSchemaDSN(t))
				}
				if backend == "filesystem" {
					root := filepath.Join(dir, "media")
					cfg, _ := json.Marshal(map[string]string{"MEDIA_ROOT": root})
					e.vars = append(e.vars, "STORAGE_BACKEND=filesystem",
						"STORAGE_CONFIG="+string(cfg))
					e.media = openStorage(t, "filesystem", storage.Config{"MEDIA_ROOT": root})
					e.swMedia = openStorage(t, "filesystem",
						storage.Config{"MEDIA_ROOT": filepath.Join(dir, "software-media")})
				} else {
					bucket, swBucket := "media-"+randomHex(4), "sw-"+randomHex(4)
					s3srv.CreateBucket(t, bucket)
					s3srv.CreateBucket(t, swBucket)
					cfg := s3srv.Config(bucket)
					cfg["AWS_LOCATION"] = "media"
					raw, _ := json.Marshal(cfg)
					e.vars = append(e.vars, "STORAGE_BACKEND=s3", "STORAGE_CONFIG="+string(raw),
						"SOFTWARE_MEDIA_BUCKET="+swBucket)
					e.media = openS3(t, cfg)
					sw := s3srv.Config(swBucket)
					sw["AWS_LOCATION"] = "software_images"
					e.swMedia = openS3(t, sw)
					e.fetchURL = httpGet
				}
				fn(t, e)
			})
		}
	}
}

func openStorage(t *testing.T, backend string, cfg storage.Config) storage.Storage {
	st, err := storage.Open(context.Background(), backend, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openS3(t *testing.T, cfg map[string]any) storage.Storage {
	st, err := s3store.NewFromConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// postgresSchemaDSN returns a DSN whose search path is a fresh schema.
func postgresSchemaDSN(t *testing.T) string {
	dsn := os.Getenv("TEST_POSTGRES_DSN")
	admin, err := gorm.Open(postgres.Open(dsn), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	schema := "x_" + randomHex(6)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// run runs an example command and returns its JSON rows; wantOK says whether it must
// succeed or fail.
func (e *exampleEnv) run(t *testing.T, wantOK bool, name string, args ...string) []map[string]any {
	t.Helper()
	cmd := exec.Command(exampleBin(t, name), args...)
	cmd.Env = append(os.Environ(), e.vars...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if wantOK && err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
	}
	if !wantOK {
		if err == nil {
			t.Fatalf("%s %v succeeded, want an error; output %s", name, args, stdout.String())
		}
		if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 {
			t.Errorf("%s %v: error is %d lines, want one: %s", name, args, lines+1, stderr.String())
		}
		return nil
	}
	var rows []map[string]any
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s %v: output line %q: %v", name, args, sc.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

func abs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDeviceTypeExample(t *testing.T) {
	front, rear := abs(t, "testdata/front-panel.png"), abs(t, "testdata/rear-panel.jpg")
	notImage := abs(t, "testdata/not-an-image.png")
	eachExampleEnv(t, func(t *testing.T, e *exampleEnv) {
		rows := e.run(t, true, "devicetype", "add", "--manufacturer", "Cisco",
			"--model", "C9300-48P", "--front", front, "--rear", rear)
		if len(rows) != 1 {
			t.Fatalf("add printed %d rows", len(rows))
		}
		row := rows[0]
		id := jsonID(row)
		if row["front_image"] != "devicetype-images/front-panel.png" ||
			row["rear_image"] != "devicetype-images/rear-panel.jpg" {
			t.Errorf("keys: %v, %v", row["front_image"], row["rear_image"])
		}
		if row["front_image_width"] == 0.0 || row["rear_image_height"] == 0.0 {
			t.Errorf("sizes missing: %v", row)
		}
		wantFront, _ := os.ReadFile(front)
		if got := content(t, e.media, "devicetype-images/front-panel.png"); !bytes.Equal(got, wantFront) {
			t.Error("stored front image differs from the file")
		}
		if e.fetchURL != nil {
			if got := e.fetchURL(t, row["front_image_url"].(string)); !bytes.Equal(got, wantFront) {
				t.Error("front image URL serves other bytes")
			}
		}

		got := e.run(t, true, "devicetype", "get", id)
		if len(got) != 1 || got[0]["model"] != "C9300-48P" {
			t.Errorf("get: %v", got)
		}

		// Replace the front image: the old object goes.
		rows = e.run(t, true, "devicetype", "set-front", id, rear)
		newFront := rows[0]["front_image"].(string)
		if newFront == "devicetype-images/front-panel.png" || !exists(t, e.media, newFront) {
			t.Errorf("set-front: key %q", newFront)
		}
		if exists(t, e.media, "devicetype-images/front-panel.png") {
			t.Error("old front image still stored after set-front")
		}
		rows = e.run(t, true, "devicetype", "clear-front", id)
		if rows[0]["front_image"] != "" || rows[0]["front_image_width"] != 0.0 {
			t.Errorf("clear-front: %v", rows[0])
		}
		if exists(t, e.media, newFront) {
			t.Error("cleared front image still stored")
		}

		// Refused input leaves no row and no object.
		before := objects(t, e.media)
		e.run(t, false, "devicetype", "add", "--manufacturer", "X", "--model", "bad",
			"--front", front, "--rear", notImage)
		e.run(t, false, "devicetype", "add", "--manufacturer", "X", "--model", "missing",
			"--front", "/nonexistent/front.png")
		if after := objects(t, e.media); len(after) != len(before) {
			t.Errorf("objects after refused adds: %v, before %v", after, before)
		}
		if list := e.run(t, true, "devicetype", "list"); len(list) != 1 {
			t.Errorf("list: %d rows, want 1", len(list))
		}

		e.run(t, true, "devicetype", "delete", id)
		if keys := objects(t, e.media); len(keys) != 0 {
			t.Errorf("objects after delete: %v", keys)
		}
	})
}

func TestSoftwareAttachmentExample(t *testing.T) {
	eachExampleEnv(t, func(t *testing.T, e *exampleEnv) {
		dir := t.TempDir()
		src := filepath.Join(dir, "ios-xe 17.9.bin")
		body := make([]byte, 6<<20+123)
		rand.Read(body)
		if err := os.WriteFile(src, body, 0o644); err != nil {
			t.Fatal(err)
		}
		rows := e.run(t, true, "softwareattachment", "upload", src, "--name", "IOS XE 17.9")
		row := rows[0]
		if row["file"] != "uploads/ios-xe_17.9.bin" || row["size"] != float64(len(body)) {
			t.Errorf("upload: %v", row)
		}
		if got := content(t, e.swMedia, "uploads/ios-xe_17.9.bin"); !bytes.Equal(got, body) {
			t.Error("stored object differs from the file")
		}
		if keys := objects(t, e.media); len(keys) != 0 {
			t.Errorf("software image went to the default storage: %v", keys)
		}

		// The same client name again gets its own key.
		rows = e.run(t, true, "softwareattachment", "upload", src, "--filename", "ios-xe 17.9.bin")
		if rows[0]["file"] == "uploads/ios-xe_17.9.bin" {
			t.Error("second upload of one name reused the key")
		}
		id := jsonID(rows[0])

		out := filepath.Join(dir, "out.bin")
		e.run(t, true, "softwareattachment", "get", id, "-o", out)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, body) {
			t.Error("get -o wrote other bytes")
		}
		if list := e.run(t, true, "softwareattachment", "list"); len(list) != 2 {
			t.Errorf("list: %d rows", len(list))
		}
		e.run(t, true, "softwareattachment", "delete", id)
		if keys := objects(t, e.swMedia); len(keys) != 1 {
			t.Errorf("objects after delete: %v", keys)
		}
		e.run(t, false, "softwareattachment", "upload", filepath.Join(dir, "missing.bin"))
		e.run(t, false, "softwareattachment", "upload", src, "--name", strings.Repeat("n", 51))
		if keys := objects(t, e.swMedia); len(keys) != 1 {
			t.Errorf("objects after refused uploads: %v", keys)
		}
	})
}

func jsonID(row map[string]any) string {
	b, _ := json.Marshal(row["id"])
	return string(b)
}
