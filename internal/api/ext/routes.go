// Package ext is the HTTP adapter of the External API (/api/v2/ext, seed
// 003): it decodes the seed's wire shapes, calls the domain services and
// encodes their results and errors in this family's format.
package ext

import (
	"log/slog"
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/dialog"
	"github.com/parley-cc/parley/internal/voice/sip"
)

// Prefix is where the family is mounted.
const Prefix = "/api/v2/ext"

// Handler serves the External API.
type Handler struct {
	Log   *slog.Logger
	Users *auth.UserService
	// Logins checks passwords for /auth, behind the login limits; nil
	// means one with the default limits over Users.
	Logins  *api.Logins
	Tokens  *auth.TokenService
	Agents  *agent.Service
	Dialogs *dialog.Service
	Trunks  *sip.Service
}

// Route is one method of the family. Public routes take no Bearer token.
type Route struct {
	Method    string
	Path      string // below Prefix
	Public    bool
	BodyLimit int64 // 0 means api.DefaultBodyLimit
	handle    func(h *Handler, w http.ResponseWriter, r *http.Request) error
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + Prefix + rt.Path }

// Routes lists every method of the family. Tests iterate it, so a route
// added here is covered by the isolation and bad-input matrices at once.
func Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/auth", Public: true, handle: (*Handler).login},
		{Method: "POST", Path: "/auth/refresh", Public: true, handle: (*Handler).refresh},

		{Method: "GET", Path: "/company-agents", handle: (*Handler).listAgents},
		{Method: "POST", Path: "/company-agents", handle: (*Handler).createAgent},
		{Method: "GET", Path: "/agent-settings/general", handle: (*Handler).getGeneral},
		{Method: "PUT", Path: "/agent-settings/general", handle: (*Handler).putGeneral},
		{Method: "GET", Path: "/agent-settings/credentials", handle: (*Handler).listCredentials},
		{Method: "POST", Path: "/agent-settings/credentials", handle: (*Handler).createCredential},
		{Method: "PUT", Path: "/agent-settings/credentials/{credential_uuid}", handle: (*Handler).putCredential},

		{Method: "GET", Path: "/agent-settings/time-slot", handle: (*Handler).listSlots},
		{Method: "POST", Path: "/agent-settings/time-slot", handle: (*Handler).createSlot},
		{Method: "PUT", Path: "/agent-settings/time-slot", handle: (*Handler).putSlot},
		{Method: "DELETE", Path: "/agent-settings/time-slot", handle: (*Handler).deleteSlot},

		{Method: "GET", Path: "/initial-entity", handle: entityList(agent.Initial)},
		{Method: "POST", Path: "/initial-entity", handle: entityCreate(agent.Initial)},
		{Method: "PUT", Path: "/initial-entity", handle: entityUpdate(agent.Initial)},
		{Method: "DELETE", Path: "/initial-entity", handle: entityDelete(agent.Initial)},
		{Method: "POST", Path: "/initial-entity/bulk", handle: entityBulkAdd(agent.Initial)},
		{Method: "POST", Path: "/initial-entity/bulk-delete", handle: entityBulkDelete(agent.Initial)},

		{Method: "GET", Path: "/output-entity", handle: entityList(agent.Output)},
		{Method: "POST", Path: "/output-entity", handle: entityCreate(agent.Output)},
		{Method: "PUT", Path: "/output-entity", handle: entityUpdate(agent.Output)},
		{Method: "DELETE", Path: "/output-entity", handle: entityDelete(agent.Output)},
		{Method: "POST", Path: "/output-entity/bulk", handle: (*Handler).outputBulk},
		// The seed's curl examples spell the path with an underscore.
		{Method: "PUT", Path: "/output_entity", handle: entityUpdate(agent.Output)},
		{Method: "DELETE", Path: "/output_entity", handle: entityDelete(agent.Output)},

		{Method: "GET", Path: "/agent-settings/script", handle: (*Handler).getScripts},
		{Method: "PUT", Path: "/agent-settings/script", BodyLimit: agent.MaxScriptBytes + 64<<10, handle: (*Handler).putScript},
		{Method: "DELETE", Path: "/agent-settings/script", handle: (*Handler).deleteScript},
		{Method: "POST", Path: "/agent-settings/script/check", BodyLimit: agent.MaxScriptBytes + 64<<10, handle: (*Handler).checkScript},

		{Method: "POST", Path: "/dialog/dialog-initial", handle: (*Handler).uploadDialog},
		{Method: "POST", Path: "/dialog/dialogs-group-initial", BodyLimit: GroupUploadLimit, handle: (*Handler).uploadGroup},
		{Method: "GET", Path: "/dialog/dialogs-group-initial-status", handle: (*Handler).groupStatus},
		{Method: "GET", Path: "/dialog/dialogs-group-initial-result", handle: (*Handler).groupResult},

		{Method: "GET", Path: "/queue/dialog", handle: (*Handler).queueDialogs},
		{Method: "GET", Path: "/queue/call", handle: (*Handler).queueCalls},
		{Method: "POST", Path: "/queue/stop", handle: (*Handler).queueStop},
		{Method: "POST", Path: "/queue/return", handle: (*Handler).queueReturn},
		{Method: "POST", Path: "/queue/remove", handle: (*Handler).queueRemove},
		{Method: "GET", Path: "/selection", handle: (*Handler).selections},

		{Method: "GET", Path: "/statistic/dialog", handle: (*Handler).statDialog},
		{Method: "GET", Path: "/statistic/dialog-group", handle: (*Handler).statGroup},
		{Method: "POST", Path: "/statistic/dialog-report", handle: (*Handler).statReport},
		{Method: "GET", Path: "/statistic/download/call", handle: (*Handler).downloadCall},
		{Method: "GET", Path: "/statistic/{call_uuid}/transcription", handle: (*Handler).transcription},

		{Method: "GET", Path: "/trunks", handle: (*Handler).listTrunks},
		{Method: "POST", Path: "/trunks", handle: (*Handler).createTrunk},
		{Method: "GET", Path: "/trunks/{name}", handle: (*Handler).getTrunk},
		{Method: "PUT", Path: "/trunks/{name}", handle: (*Handler).updateTrunk},
		{Method: "DELETE", Path: "/trunks/{name}", handle: (*Handler).deleteTrunk},
	}
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Logins == nil {
		h.Logins = api.NewLogins(h.Users, h.Log, api.LoginLimits{})
	}
	var endpoints []api.Endpoint
	for _, rt := range Routes() {
		next := api.WriteErrors(h.writeError, func(w http.ResponseWriter, r *http.Request) error { return rt.handle(h, w, r) })
		if !rt.Public {
			next = api.Bearer(h.Tokens, h.writeError, requireAPIAccess(h, next))
		}
		limit := rt.BodyLimit
		if limit == 0 {
			limit = api.DefaultBodyLimit
		}
		api.Route(mux, rt.Pattern(), api.LimitBody(limit, next))
		endpoints = append(endpoints, api.Endpoint{Method: rt.Method, Path: Prefix + rt.Path})
	}
	api.Fallback(mux, Prefix+"/", "External API", endpoints, h.writeError)
}

// requireAPIAccess enforces the seed's "role with API access rights".
func requireAPIAccess(h *Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := parley.CallerFrom(r.Context()); !ok || !c.HasAPIAccess() {
			h.writeError(w, r, parley.Errorf(parley.EFORBIDDEN, "The user has no External API access rights."))
			return
		}
		next.ServeHTTP(w, r)
	})
}
