package api

import (
	"net/http"
	"strings"

	"github.com/parley-cc/parley"
)

// Endpoint is one method of a family: its HTTP method and its full path
// pattern, "{name}" standing for one segment.
type Endpoint struct{ Method, Path string }

// Fallback answers, below prefix, the requests none of a family's routes
// took: 405 with Allow for a path some endpoint serves with other methods,
// 404 otherwise, both written by the family's own error writer, so that a
// client never sees another family's (or Go's plain-text) error format.
func Fallback(mux *http.ServeMux, prefix, family string, endpoints []Endpoint, fail ErrorWriter) {
	Route(mux, prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var methods []string
		for _, e := range endpoints {
			if matchPath(e.Path, r.URL.Path) {
				methods = append(methods, e.Method)
			}
		}
		if len(methods) > 0 {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			fail(w, r, parley.Errorf(parley.EMETHOD, "%s is not allowed on %s; use %s.", r.Method, parley.Clip(r.URL.Path), strings.Join(methods, ", ")))
			return
		}
		fail(w, r, parley.Errorf(parley.ENOTFOUND, "No method %s %s in the %s.", r.Method, parley.Clip(r.URL.Path), family))
	}))
}

// matchPath reports whether path fits pattern, "{x}" matching one segment.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != xs[i] && !(strings.HasPrefix(ps[i], "{") && xs[i] != "") {
			return false
		}
	}
	return true
}

// WriteErrors adapts a family method that returns its error, rather than
// writing it, into a handler that writes the error in the family's format.
func WriteErrors(fail ErrorWriter, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			fail(w, r, err)
		}
	})
}
