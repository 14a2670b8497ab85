package staticfiles

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gormfile/gormfile/storage/memstore"
)

func TestHashedName(t *testing.T) {
	const sum = "3f2a9c1b0e4d5a6b7c8d9e0f1a2b3c4d"
	tests := []struct{ key, want string }{
		{"css/app.css", "css/app.3f2a9c1b0e4d.css"},
		{"js/app.min.js", "js/app.min.3f2a9c1b0e4d.js"},
		{"LICENSE", "LICENSE.3f2a9c1b0e4d"},
		{"a/.htaccess", "a/.htaccess.3f2a9c1b0e4d"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := hashedName(tt.key, sum); got != tt.want {
				t.Errorf("hashedName(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

var manifestTree = map[string]string{
	"img/logo.png":    "png bytes",
	"fonts/a b.woff2": "font bytes",
	"css/print.css":   `.logo { background: url('../img/logo.png') }`,
	"css/app.css": `@import "print.css";
@font-face { src: url("../fonts/a%20b.woff2?v=1#iefix") }
.a { background: url( ../img/logo.png ) }
.b { background: url(data:image/png;base64,AAAA) }
.c { background: url(https://cdn.example/x.png) }
.d { background: url(/abs/x.png) }
.e { background: url(missing.png) }
.f { behavior: url(#default) }
/*# sourceMappingURL=app.css.map */`,
	"css/app.css.map": `{"version":3}`,
}

func TestCollectManifest(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, manifestTree)
	st, cnt := wrap(memstore.New(&memstore.Options{BaseURL: "/static/"}))
	opts := Options{Sources: []string{src}, Manifest: true}

	res := collect(t, st, opts)
	m := res.Manifest
	if m == nil {
		t.Fatal("no manifest in the result")
	}
	logo := "img/logo." + md5Hex("png bytes")[:12] + ".png"
	font := "fonts/a b." + md5Hex("font bytes")[:12] + ".woff2"
	mapFile := "css/app.css." + md5Hex(`{"version":3}`)[:12] + ".map"
	printCSS := `.logo { background: url('../img/` + filepath.Base(logo) + `') }`
	printKey := "css/print." + md5Hex(printCSS)[:12] + ".css"
	app := `@import "` + filepath.Base(printKey) + `";
@font-face { src: url("../fonts/a%20b.` + md5Hex("font bytes")[:12] + `.woff2?v=1#iefix") }
.a { background: url( ../img/` + filepath.Base(logo) + ` ) }
.b { background: url(data:image/png;base64,AAAA) }
.c { background: url(https://cdn.example/x.png) }
.d { background: url(/abs/x.png) }
.e { background: url(missing.png) }
.f { behavior: url(#default) }
/*# sourceMappingURL=` + filepath.Base(mapFile) + ` */`
	appKey := "css/app." + md5Hex(app)[:12] + ".css"

	wantPaths := map[string]string{"img/logo.png": logo, "fonts/a b.woff2": font,
		"css/print.css": printKey, "css/app.css": appKey, "css/app.css.map": mapFile}
	for name, want := range wantPaths {
		if got, _ := m.HashedName(name); got != want {
			t.Errorf("HashedName(%q) = %q, want %q", name, got, want)
		}
	}
	if len(m.Paths) != len(wantPaths) {
		t.Errorf("manifest paths = %v", m.Paths)
	}
	if got := read(t, st, printKey); got != printCSS {
		t.Errorf("%s = %q, want %q", printKey, got, printCSS)
	}
	if got := read(t, st, appKey); got != app {
		t.Errorf("%s =\n%s\nwant\n%s", appKey, got, app)
	}
	if got := read(t, st, "css/app.css"); got != manifestTree["css/app.css"] {
		t.Errorf("the original css/app.css was changed: %q", got)
	}
	wantKeys := []string{ManifestName}
	for name, hashed := range wantPaths {
		wantKeys = append(wantKeys, name, hashed)
	}
	slices.Sort(wantKeys)
	if got := keys(t, st); !slices.Equal(got, wantKeys) {
		t.Errorf("keys = %q, want %q", got, wantKeys)
	}

	loaded, err := LoadManifest(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := loaded.URL(ctx, st, "img/logo.png")
	if err != nil || u != "/static/"+logo {
		t.Errorf("URL = %q, %v; want %q", u, err, "/static/"+logo)
	}
	if _, err := loaded.URL(ctx, st, "nope.png"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("URL of a name not in the manifest: %v", err)
	}

	cnt.saves.Store(0)
	res = collect(t, st, opts)
	checkCounts(t, res, 0, len(wantKeys), 0)
	if cnt.saves.Load() != 0 {
		t.Errorf("no-change re-run: %d saves", cnt.saves.Load())
	}

	// A changed image renames its copy and the copies of the stylesheets that use it.
	if err := os.WriteFile(filepath.Join(src, "img", "logo.png"), []byte("new png!!"),
		0o644); err != nil {
		t.Fatal(err)
	}
	res = collect(t, st, Options{Sources: []string{src}, Manifest: true, Clear: true})
	// Copied: logo.png, its copy, both stylesheet copies, the manifest; deleted: the
	// three old copies.
	checkCounts(t, res, 5, len(wantKeys)-5, 3)
	for _, name := range []string{"img/logo.png", "css/print.css", "css/app.css"} {
		if res.Manifest.Paths[name] == wantPaths[name] {
			t.Errorf("%s: hashed name unchanged", name)
		}
	}
}

func TestCollectManifestCycle(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"a.css": `@import "b.css";`,
		"b.css": `@import url(a.css);`,
	})
	_, err := Collect(context.Background(), memstore.New(nil),
		&Options{Sources: []string{src}, Manifest: true})
	var e *Error
	if !errors.As(err, &e) || e.Op != "rewrite" || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("err = %v, want a rewrite cycle", err)
	}
}
