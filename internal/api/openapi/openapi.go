// Package openapi serves the OpenAPI documents of every API family under
// /openapi/: each family's at /openapi/<name>.json, and an index of them at
// /openapi/. The documents are hand-written next to each family's handlers
// (internal/api/<family>/openapi.json); the families' contract tests keep
// them true. The API reference page (/docs/api/) renders them.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/api/apps"
	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/api/livechat"
	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/api/widget"
)

// Document is one family's OpenAPI document.
type Document struct {
	Name    string `json:"name"`    // the file's name: /openapi/<Name>.json
	Title   string `json:"title"`   // info.title
	Version string `json:"version"` // info.version
	Prefix  string `json:"prefix"`  // where the family is mounted
	URL     string `json:"url"`
	JSON    []byte `json:"-"`
}

// Documents lists every family's document, in the order the reference
// page shows them.
func Documents() []Document {
	return documents
}

var documents = func() []Document {
	out := []Document{
		{Name: "v1", Prefix: v1.Prefix, JSON: v1.OpenAPI},
		{Name: "livechat", Prefix: livechat.Prefix, JSON: livechat.OpenAPI},
		{Name: "apps", Prefix: apps.Prefix, JSON: apps.OpenAPI},
		{Name: "widget", Prefix: widget.Prefix, JSON: widget.OpenAPI},
		{Name: "ext", Prefix: ext.Prefix, JSON: ext.OpenAPI},
	}
	for i := range out {
		d := &out[i]
		var head struct {
			Info struct{ Title, Version string }
		}
		if err := json.Unmarshal(d.JSON, &head); err != nil || head.Info.Title == "" {
			// The documents are embedded: a broken one is a build defect
			// that every family's contract test reports.
			panic(fmt.Sprintf("openapi: the %s document has no info.title: %v", d.Name, err))
		}
		d.Title, d.Version, d.URL = head.Info.Title, head.Info.Version, "/openapi/"+d.Name+".json"
	}
	return out
}()

// Register mounts the documents and their index on mux.
func Register(mux *http.ServeMux) {
	index, _ := json.Marshal(map[string]any{"documents": documents})
	api.Route(mux, "GET /openapi/{$}", serve(index))
	for _, d := range documents {
		api.Route(mux, "GET "+d.URL, serve(d.JSON))
	}
}

func serve(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	})
}
