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
type Route = api.RouteSpec[Handler]

// family is how the chat platform API is mounted: every role may call it
// with a Bearer token (configuration methods check for staff themselves).
var family = &api.Family[Handler]{Name: "chat platform API", Prefix: Prefix, BodyLimit: BodyLimit,
	Auth: func(h *Handler, next http.Handler) http.Handler { return api.Bearer(h.Tokens, h.writeError, next) },
	Fail: (*Handler).writeError}

// Routes lists every method of the family. Tests iterate it, so a route
// added here is covered by the isolation and bad-input matrices at once.
func Routes() []Route {
	var rs []Route
	rs = append(rs, chatRoutes()...)
	rs = append(rs, webhookRoutes()...)
	rs = append(rs, statsRoutes()...)
	return family.Routes(rs)
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) { family.Register(mux, h, Routes()) }
