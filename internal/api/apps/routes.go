// Package apps is the HTTP adapter of the chat platform API (/apps/api/v1,
// seed 002): chats with their agents, virtual agents and menus, escalations,
// media, customer flags, custom data and the end user, plus the company's
// menus and webhooks. Ids are integers and names snake_case.
package apps

import (
	"log/slog"
	"net/http"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
)

// Prefix is where the family is mounted.
const Prefix = "/apps/api/v1"

// BodyLimit caps every request body of the family. Media never passes
// through it: files go to the media store's upload form.
const BodyLimit = 256 << 10

// Handler serves the chat platform API.
type Handler struct {
	Log    *slog.Logger
	Tokens *auth.TokenService
	Chats  *chat.Service
	// Uploads hands out and checks chat photos and videos.
	Uploads *chat.Uploads
	// Webhooks manages the company's webhooks (webhooks.go).
	Webhooks *webhookService
}

// Route is one method of the family.
type Route struct {
	Method string
	Path   string // below Prefix
	handle func(h *Handler, w http.ResponseWriter, r *http.Request) error
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + Prefix + rt.Path }

// Routes lists every method of the family. Tests iterate it, so a route
// added here is covered by the isolation and bad-input matrices at once.
func Routes() []Route {
	var rs []Route
	rs = append(rs, chatRoutes()...)
	rs = append(rs, webhookRoutes()...)
	rs = append(rs, statsRoutes()...)
	return rs
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	var endpoints []api.Endpoint
	for _, rt := range Routes() {
		next := api.WriteErrors(h.writeError, func(w http.ResponseWriter, r *http.Request) error { return rt.handle(h, w, r) })
		api.Route(mux, rt.Pattern(), api.LimitBody(BodyLimit, api.Bearer(h.Tokens, h.writeError, next)))
		endpoints = append(endpoints, api.Endpoint{Method: rt.Method, Path: Prefix + rt.Path})
	}
	api.Fallback(mux, Prefix+"/", "chat platform API", endpoints, h.writeError)
}
