// Package livechat is the HTTP adapter of the live-chat gateway
// (/v1/projects/{projectUuid}/livechat, seed 001): UUIDs on the wire,
// camelCase names, and every answer, errors included, wrapped in
// ResponseWrapper{success, data, error}.
package livechat

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
)

// Prefix is where the family is mounted; every route is below a project.
const Prefix = "/v1/projects/{projectUuid}/livechat"

// BodyLimit caps every request body of the family.
const BodyLimit = 256 << 10

// Handler serves the live-chat gateway.
type Handler struct {
	Log    *slog.Logger
	Tokens *auth.TokenService
	Chats  *chat.Service
}

// Route is one method of the family.
type Route struct {
	Method string
	Path   string // below Prefix
	handle func(h *Handler, w http.ResponseWriter, r *http.Request) error
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + Prefix + rt.Path }

// Routes lists every method of the family; the tests iterate it.
func Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/conversations", handle: (*Handler).createConversation},
		{Method: "GET", Path: "/conversations", handle: (*Handler).listConversations},
		{Method: "GET", Path: "/conversations/{conversationUuid}/messages", handle: (*Handler).listMessages},
		{Method: "POST", Path: "/conversations/{conversationUuid}/messages/operator", handle: (*Handler).postOperatorMessage},
		{Method: "POST", Path: "/conversations/{conversationUuid}/messages/client", handle: (*Handler).postClientMessage},
		{Method: "POST", Path: "/conversations/{conversationUuid}/close", handle: (*Handler).closeConversation},
	}
}

// Register mounts every route on mux. Roles admin, api and operator may
// call the family.
func (h *Handler) Register(mux *http.ServeMux) {
	var endpoints []api.Endpoint
	for _, rt := range Routes() {
		next := api.WriteErrors(h.writeError, func(w http.ResponseWriter, r *http.Request) error { return rt.handle(h, w, r) })
		api.Route(mux, rt.Pattern(), h.recover(api.LimitBody(BodyLimit, api.Bearer(h.Tokens, h.writeError, next))))
		endpoints = append(endpoints, api.Endpoint{Method: rt.Method, Path: Prefix + rt.Path})
	}
	api.Fallback(mux, "/v1/projects/", "live-chat gateway", endpoints, h.writeError)
}

// recover answers a panic with an INTERNAL_ERROR wrapper instead of the
// generic body of api.Observe.
func (h *Handler) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.Log.Error("panic", "request_id", api.Info(r.Context()).ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				h.writeError(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
