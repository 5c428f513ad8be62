// Package v1 is the HTTP adapter of the operator API (/v1, seed 000): the
// live-chat methods operators and integrations use. Ids are integers on the
// wire and names are snake_case.
package v1

import (
	"log/slog"
	"net/http"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
)

// Prefix is where the family is mounted.
const Prefix = "/v1"

// BodyLimit caps every request body of the family: a message's 10,000
// characters fit many times over.
const BodyLimit = 256 << 10

// Handler serves the operator API.
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

// Routes lists every method of the family. Tests iterate it, so a route
// added here is covered by the isolation and bad-input matrices at once.
func Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/clients", handle: (*Handler).createClient},
		{Method: "GET", Path: "/clients/{clientId}", handle: (*Handler).getClient},
		{Method: "POST", Path: "/operators", handle: (*Handler).createOperator},
		{Method: "GET", Path: "/operators", handle: (*Handler).listOperators},
		{Method: "GET", Path: "/operators/me", handle: (*Handler).me},
		{Method: "PATCH", Path: "/operators/{operatorId}", handle: (*Handler).updateOperator},
		{Method: "POST", Path: "/chats", handle: (*Handler).createChat},
		{Method: "GET", Path: "/chats", handle: (*Handler).listChats},
		{Method: "GET", Path: "/chats/{chatId}", handle: (*Handler).getChat},
		{Method: "PATCH", Path: "/chats/{chatId}", handle: (*Handler).updateChat},
		{Method: "GET", Path: "/chats/{chatId}/messages", handle: (*Handler).listMessages},
		{Method: "POST", Path: "/chats/{chatId}/messages", handle: (*Handler).postMessage},
	}
}

// Register mounts every route on mux. Every role may call the family:
// operators are its users.
func (h *Handler) Register(mux *http.ServeMux) {
	var endpoints []api.Endpoint
	for _, rt := range Routes() {
		next := api.WriteErrors(h.writeError, func(w http.ResponseWriter, r *http.Request) error { return rt.handle(h, w, r) })
		api.Route(mux, rt.Pattern(), api.LimitBody(BodyLimit, api.Bearer(h.Tokens, h.writeError, next)))
		endpoints = append(endpoints, api.Endpoint{Method: rt.Method, Path: Prefix + rt.Path})
	}
	api.Fallback(mux, Prefix+"/", "operator API", endpoints, h.writeError)
}
