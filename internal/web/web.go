// Package web serves Parley's pages from the binary itself: the operator
// console (/console/), the supervisor views (/supervisor/), the end-user
// chat widget (/widget/ and the loader /widget.js), the API reference
// (/docs/api/, which renders the OpenAPI documents of /openapi/) and their
// shared assets (/static/). The pages are plain HTML, CSS and JavaScript modules with no
// build step and no CDN, so they work offline and the build is the Go
// build. They talk to Parley only through its public APIs.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/parley-cc/parley/internal/api"
)

//go:embed static
var files embed.FS

// Static is the embedded file tree, rooted at static/.
var Static, _ = fs.Sub(files, "static")

// pages maps each page's URL to its HTML file.
var pages = map[string]string{
	"/login":        "login.html",
	"/console/":     "console.html",
	"/supervisor/":  "supervisor.html",
	"/widget/":      "widget.html",
	"/widget/demo/": "widget-demo.html",
	"/docs/api/":    "api-docs.html",
}

// Register mounts the pages and assets on mux.
func Register(mux *http.ServeMux) {
	assets := http.StripPrefix("/static/", http.FileServerFS(Static))
	api.Route(mux, "GET /static/", secure(cached(assets)))
	api.Route(mux, "GET /widget.js", secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, Static, "js/widget-loader.js")
	})))
	for path, file := range pages {
		api.Route(mux, "GET "+path, secure(page(file, strings.HasPrefix(path, "/widget/"))))
	}
	api.Route(mux, "GET /{$}", http.RedirectHandler("/console/", http.StatusFound))
}

// page serves one HTML file; frameable pages (the widget) may be embedded
// in a company's site, the others never in a frame.
func page(file string, frameable bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(Static, file)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		csp := "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"
		if frameable {
			csp += "; frame-ancestors *"
		} else {
			csp += "; frame-ancestors 'none'"
			w.Header().Set("X-Frame-Options", "DENY")
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	})
}

func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// cached lets browsers keep assets briefly; pages are no-cache, so a new
// binary's assets are picked up within minutes.
func cached(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}
