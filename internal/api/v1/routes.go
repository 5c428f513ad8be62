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
	"github.com/parley-cc/parley/internal/handover"
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
	// Handover acts on the calls this node holds (call transfers, live
	// calls); nil refuses those routes.
	Handover *handover.Service
	// Users manages the company's logins (users.go).
	Users *auth.UserService
}

// Route is one method of the family.
type Route = api.RouteSpec[Handler]

// family is how the operator API is mounted: every role may call it
// (operators are its users), with a Bearer token.
var family = &api.Family[Handler]{Name: "operator API", Prefix: Prefix, BodyLimit: BodyLimit,
	Auth: func(h *Handler, next http.Handler) http.Handler { return api.Bearer(h.Tokens, h.writeError, next) },
	Fail: (*Handler).writeError}

// Routes lists every method of the family. Tests iterate it, so a route
// added here is covered by the isolation and bad-input matrices at once.
func Routes() []Route {
	return family.Routes([]Route{
		{Method: "POST", Path: "/clients", Handle: (*Handler).createClient},
		{Method: "GET", Path: "/clients/{clientId}", Handle: (*Handler).getClient},
		{Method: "POST", Path: "/operators", Handle: (*Handler).createOperator},
		{Method: "GET", Path: "/operators", Handle: (*Handler).listOperators},
		{Method: "GET", Path: "/operators/me", Handle: (*Handler).me},
		{Method: "PATCH", Path: "/operators/{operatorId}", Handle: (*Handler).updateOperator},
		{Method: "POST", Path: "/chats", Handle: (*Handler).createChat},
		{Method: "GET", Path: "/chats", Handle: (*Handler).listChats},
		{Method: "GET", Path: "/chats/{chatId}", Handle: (*Handler).getChat},
		{Method: "PATCH", Path: "/chats/{chatId}", Handle: (*Handler).updateChat},
		{Method: "GET", Path: "/chats/{chatId}/messages", Handle: (*Handler).listMessages},
		{Method: "POST", Path: "/chats/{chatId}/messages", Handle: (*Handler).postMessage},
		{Method: "GET", Path: "/call-transfers", Handle: (*Handler).listTransfers},
		{Method: "GET", Path: "/call-transfers/{transferId}", Handle: (*Handler).getTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/accept", Handle: (*Handler).acceptTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/decline", Handle: (*Handler).declineTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/hangup", Handle: (*Handler).hangupTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/mute", Handle: (*Handler).muteTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/hold", Handle: (*Handler).holdTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/dtmf", Handle: (*Handler).dtmfTransfer},
		{Method: "POST", Path: "/call-transfers/{transferId}/disposition", Handle: (*Handler).disposeTransfer},
		{Method: "GET", Path: "/live-calls", Handle: (*Handler).liveCalls},
		{Method: "POST", Path: "/live-calls/{callId}/listen", Handle: (*Handler).listenCall},
		{Method: "GET", Path: "/inbox", Handle: (*Handler).inbox},
		{Method: "POST", Path: "/chats/{chatId}/read", Handle: (*Handler).markRead},
		{Method: "GET", Path: "/messages/search", Handle: (*Handler).search},
		{Method: "GET", Path: "/chats/{chatId}/notes", Handle: (*Handler).listNotes},
		{Method: "POST", Path: "/chats/{chatId}/notes", Handle: (*Handler).addNote},
		{Method: "POST", Path: "/chats/{chatId}/transfer", Handle: (*Handler).transfer},
		{Method: "PUT", Path: "/chats/{chatId}/labels", Handle: (*Handler).setLabels},
		{Method: "GET", Path: "/labels", Handle: (*Handler).listLabels},
		{Method: "GET", Path: "/canned_responses", Handle: (*Handler).listCanned},
		{Method: "POST", Path: "/canned_responses", Handle: (*Handler).createCanned},
		{Method: "PATCH", Path: "/canned_responses/{cannedId}", Handle: (*Handler).updateCanned},
		{Method: "DELETE", Path: "/canned_responses/{cannedId}", Handle: (*Handler).deleteCanned},
		{Method: "GET", Path: "/chats/{chatId}/canned_responses", Handle: (*Handler).chatCanned},
		{Method: "GET", Path: "/users", Handle: (*Handler).listUsers},
		{Method: "POST", Path: "/users", Handle: (*Handler).createUser},
		{Method: "PATCH", Path: "/users/{userId}", Handle: (*Handler).updateUser},
		{Method: "POST", Path: "/users/{userId}/password", Handle: (*Handler).resetPassword},
	})
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) { family.Register(mux, h, Routes()) }
