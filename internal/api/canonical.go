package api

import (
	"net/http"
	"path"
	"strings"
)

// Canonical serves mux, except that a request whose path is not clean
// (an empty segment, as "/statistic//transcription" when a client's id
// variable is empty, or a "." or ".." segment) goes to the handler of
// the route or family below it with its path as sent, instead of the
// ServeMux's 307 redirect to another URL: an API client gets the family's
// JSON error (the empty segment is no id, so no route takes it), never an
// HTML redirect that it would follow to another method's answer.
func Canonical(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "" || p[0] != '/' || cleanPath(p) == p || r.Method == http.MethodConnect {
			mux.ServeHTTP(w, r)
			return
		}
		// Which handler would serve a path below the cleaned one that no
		// route names: the family's fallback, or a route whose last
		// wildcard takes it (which then finds no id in the path as sent).
		probe := *r
		u := *r.URL
		u.Path = strings.TrimSuffix(cleanPath(p), "/") + "/\x00"
		u.RawPath = ""
		probe.URL = &u
		h, _ := mux.Handler(&probe)
		h.ServeHTTP(w, r)
	})
}

// cleanPath is the ServeMux's canonical form of p: path.Clean, keeping a
// trailing slash.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
