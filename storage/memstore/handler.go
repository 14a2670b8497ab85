package memstore

import (
	"bytes"
	"net/http"
	"path"
	"strings"
)

// Handler returns an HTTP handler that serves the storage's objects, the request path
// being the key. Mount it under the path of [Options.BaseURL] with the prefix
// stripped:
//
//	mux.Handle("/media/", http.StripPrefix("/media/", s.Handler()))
//
// It answers GET and HEAD only, with range requests and conditional requests through
// [http.ServeContent] and the object's content type.
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
	obj, err := s.get(r.Context(), "open", key)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", obj.attrs.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, path.Base(key), obj.attrs.ModTime, bytes.NewReader(obj.data))
}
