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
type Route = api.RouteSpec[Handler]

// family is how the gateway is mounted: roles admin, api and operator may
// call it with a Bearer token; every answer, a panic's included, is a
// ResponseWrapper.
var family = &api.Family[Handler]{Name: "live-chat gateway", Prefix: Prefix, Mount: "/v1/projects/", BodyLimit: BodyLimit,
	Auth: func(h *Handler, next http.Handler) http.Handler { return api.Bearer(h.Tokens, h.writeError, next) },
	Fail: (*Handler).writeError, Wrap: (*Handler).recover}

// Routes lists every method of the family; the tests iterate it.
func Routes() []Route {
	return family.Routes([]Route{
		{Method: "POST", Path: "/conversations", Handle: (*Handler).createConversation},
		{Method: "GET", Path: "/conversations", Handle: (*Handler).listConversations},
		{Method: "GET", Path: "/conversations/{conversationUuid}/messages", Handle: (*Handler).listMessages},
		{Method: "POST", Path: "/conversations/{conversationUuid}/messages/operator", Handle: (*Handler).postOperatorMessage},
		{Method: "POST", Path: "/conversations/{conversationUuid}/messages/client", Handle: (*Handler).postClientMessage},
		{Method: "POST", Path: "/conversations/{conversationUuid}/close", Handle: (*Handler).closeConversation},
	})
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) { family.Register(mux, h, Routes()) }

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
