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
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/trunk"
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
	Dialogs *outbound.Service
	Trunks  *trunk.Service
}

// Route is one method of the family. Public routes take no Bearer token.
type Route = api.RouteSpec[Handler]

// family is how the External API is mounted: a Bearer token of a role with
// API access rights, except on the public login routes.
var family = &api.Family[Handler]{Name: "External API", Prefix: Prefix,
	Auth: func(h *Handler, next http.Handler) http.Handler {
		return api.Bearer(h.Tokens, h.writeError, requireAPIAccess(h, next))
	},
	Fail: (*Handler).writeError}

// Routes lists every method of the family. Tests iterate it, so a route
// added here is covered by the isolation and bad-input matrices at once.
func Routes() []Route {
	return family.Routes([]Route{
		{Method: "POST", Path: "/auth", Public: true, Handle: (*Handler).login},
		{Method: "POST", Path: "/auth/refresh", Public: true, Handle: (*Handler).refresh},

		{Method: "GET", Path: "/company-agents", Handle: (*Handler).listAgents},
		{Method: "POST", Path: "/company-agents", Handle: (*Handler).createAgent},
		{Method: "GET", Path: "/agent-settings/general", Handle: (*Handler).getGeneral},
		{Method: "PUT", Path: "/agent-settings/general", Handle: (*Handler).putGeneral},
		{Method: "GET", Path: "/agent-settings/transfer", Handle: (*Handler).getTransfer},
		{Method: "PUT", Path: "/agent-settings/transfer", Handle: (*Handler).putTransfer},
		{Method: "GET", Path: "/agent-settings/credentials", Handle: (*Handler).listCredentials},
		{Method: "POST", Path: "/agent-settings/credentials", Handle: (*Handler).createCredential},
		{Method: "PUT", Path: "/agent-settings/credentials/{credential_uuid}", Handle: (*Handler).putCredential},

		{Method: "GET", Path: "/agent-settings/time-slot", Handle: (*Handler).listSlots},
		{Method: "POST", Path: "/agent-settings/time-slot", Handle: (*Handler).createSlot},
		{Method: "PUT", Path: "/agent-settings/time-slot", Handle: (*Handler).putSlot},
		{Method: "DELETE", Path: "/agent-settings/time-slot", Handle: (*Handler).deleteSlot},

		{Method: "GET", Path: "/initial-entity", Handle: entityList(agent.Initial)},
		{Method: "POST", Path: "/initial-entity", Handle: entityCreate(agent.Initial)},
		{Method: "PUT", Path: "/initial-entity", Handle: entityUpdate(agent.Initial)},
		{Method: "DELETE", Path: "/initial-entity", Handle: entityDelete(agent.Initial)},
		{Method: "POST", Path: "/initial-entity/bulk", Handle: entityBulkAdd(agent.Initial)},
		{Method: "POST", Path: "/initial-entity/bulk-delete", Handle: entityBulkDelete(agent.Initial)},

		{Method: "GET", Path: "/output-entity", Handle: entityList(agent.Output)},
		{Method: "POST", Path: "/output-entity", Handle: entityCreate(agent.Output)},
		{Method: "PUT", Path: "/output-entity", Handle: entityUpdate(agent.Output)},
		{Method: "DELETE", Path: "/output-entity", Handle: entityDelete(agent.Output)},
		{Method: "POST", Path: "/output-entity/bulk", Handle: (*Handler).outputBulk},
		// The seed's curl examples spell the path with an underscore.
		{Method: "PUT", Path: "/output_entity", Handle: entityUpdate(agent.Output)},
		{Method: "DELETE", Path: "/output_entity", Handle: entityDelete(agent.Output)},

		{Method: "GET", Path: "/agent-settings/script", Handle: (*Handler).getScripts},
		{Method: "PUT", Path: "/agent-settings/script", BodyLimit: agent.MaxScriptBytes + 64<<10, Handle: (*Handler).putScript},
		{Method: "DELETE", Path: "/agent-settings/script", Handle: (*Handler).deleteScript},
		{Method: "POST", Path: "/agent-settings/script/check", BodyLimit: agent.MaxScriptBytes + 64<<10, Handle: (*Handler).checkScript},

		{Method: "POST", Path: "/dialog/dialog-initial", Handle: (*Handler).uploadDialog},
		{Method: "POST", Path: "/dialog/dialogs-group-initial", BodyLimit: GroupUploadLimit, Handle: (*Handler).uploadGroup},
		{Method: "GET", Path: "/dialog/dialogs-group-initial-status", Handle: (*Handler).groupStatus},
		{Method: "GET", Path: "/dialog/dialogs-group-initial-result", Handle: (*Handler).groupResult},

		{Method: "GET", Path: "/queue/dialog", Handle: (*Handler).queueDialogs},
		{Method: "GET", Path: "/queue/call", Handle: (*Handler).queueCalls},
		{Method: "POST", Path: "/queue/stop", Handle: (*Handler).queueStop},
		{Method: "POST", Path: "/queue/return", Handle: (*Handler).queueReturn},
		{Method: "POST", Path: "/queue/remove", Handle: (*Handler).queueRemove},
		{Method: "GET", Path: "/selection", Handle: (*Handler).selections},

		{Method: "GET", Path: "/statistic/dialog", Handle: (*Handler).statDialog},
		{Method: "GET", Path: "/statistic/dialog-group", Handle: (*Handler).statGroup},
		{Method: "POST", Path: "/statistic/dialog-report", Handle: (*Handler).statReport},
		{Method: "GET", Path: "/statistic/download/call", Handle: (*Handler).downloadCall},
		{Method: "GET", Path: "/statistic/{call_uuid}/transcription", Handle: (*Handler).transcription},

		{Method: "GET", Path: "/trunks", Handle: (*Handler).listTrunks},
		{Method: "POST", Path: "/trunks", Handle: (*Handler).createTrunk},
		{Method: "GET", Path: "/trunks/{name}", Handle: (*Handler).getTrunk},
		{Method: "PUT", Path: "/trunks/{name}", Handle: (*Handler).updateTrunk},
		{Method: "DELETE", Path: "/trunks/{name}", Handle: (*Handler).deleteTrunk},
	})
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Logins == nil {
		h.Logins = api.NewLogins(h.Users, h.Log, api.LoginLimits{})
	}
	family.Register(mux, h, Routes())
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
