package fsstore

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gormfile/gormfile/storage"
)

// Handler returns an HTTP handler that serves the storage's objects, the request path
// being the key. Mount it under the path of [Options.BaseURL] with the prefix
// stripped:
//
//	mux.Handle("/media/", http.StripPrefix("/media/", s.Handler()))
//
// It answers GET and HEAD only, with range requests and conditional requests through
// [http.ServeContent] and the content type of [storage.ContentTypeByName]. It lists no
// directory: directories, temporary files, invalid keys and links that leave the root
// are not found.
func (s *Storage) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Storage) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	if s.checkKey("open", key) != nil {
		http.NotFound(w, r)
		return
	}
	f, fi, err := s.open(r.Context(), key)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrPermission):
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	default:
		// Missing objects, directories and links that leave the root alike.
		http.NotFound(w, r)
		return
	}
	defer f.Close()

	h := w.Header()
	h.Set("Content-Type", storage.ContentTypeByName(key))
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, path.Base(key), fi.ModTime(), f)
}
