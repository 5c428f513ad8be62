package ext

import (
	"encoding/json"
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
)

func agentParam(r *http.Request) string { return r.URL.Query().Get("agent_uuid") }

// ownCompany checks an optional company_uuid: naming another company is
// the seed's "no access".
func ownCompany(r *http.Request, companyUUID string) error {
	caller, _ := parley.CallerFrom(r.Context())
	if companyUUID != "" && companyUUID != caller.CompanyUUID {
		return parley.Errorf(parley.EFORBIDDEN, "No access to company %.40s.", companyUUID)
	}
	return nil
}

// listAgents is GET /company-agents. company_uuid is optional; naming
// another company is "no access".
func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request) error {
	if err := ownCompany(r, r.URL.Query().Get("company_uuid")); err != nil {
		return err
	}
	limit, err := api.QueryInt(r, "limit", agent.MaxListLimit, agent.MaxListLimit)
	if err != nil {
		return err
	}
	offset, err := api.QueryInt(r, "offset", 0, 1<<30)
	if err != nil {
		return err
	}
	agents, err := h.Agents.List(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	out := make([]agentItem, len(agents))
	for i, a := range agents {
		out[i] = agentItem{AgentUUID: a.UUID, Name: a.Name}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createAgent is POST /company-agents, which the seed lacks: agents are
// otherwise made only by the admin CLI.
func (h *Handler) createAgent(w http.ResponseWriter, r *http.Request) error {
	var in newAgentBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := ownCompany(r, in.CompanyUUID); err != nil {
		return err
	}
	a, err := h.Agents.Create(r.Context(), agent.NewAgent{Name: in.Name, Description: in.Description, Timezone: in.Timezone,
		Language: in.Language, TrunkName: in.TrunkName, PoolName: in.PoolName})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toGeneral(a))
	return nil
}

func (h *Handler) getGeneral(w http.ResponseWriter, r *http.Request) error {
	a, err := h.Agents.Get(r.Context(), agentParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGeneral(a))
	return nil
}

func (h *Handler) putGeneral(w http.ResponseWriter, r *http.Request) error {
	var in generalUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := h.Agents.UpdateSettings(r.Context(), agentParam(r), in.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, generalUpdated{
		Delay: agent.FormatDelay(a.DelayMinutes), RecallCount: a.RecallCount, Flag: a.Flag, CompanyUUID: a.CompanyUUID,
		RoutingChannelLimit: a.RoutingChannelLimit, TotalChannelLimit: a.TotalChannelLimit, Language: a.Language,
		ASR: a.ASR, TTS: a.TTS,
	})
	return nil
}

func (h *Handler) listCredentials(w http.ResponseWriter, r *http.Request) error {
	creds, err := h.Agents.ListCredentials(r.Context(), agentParam(r), r.URL.Query().Get("key_type"))
	if err != nil {
		return err
	}
	out := dataList[credential]{Data: make([]credential, len(creds))}
	for i, c := range creds {
		out.Data[i] = toCredential(c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createCredential is POST /agent-settings/credentials, which the seed
// lacks: keys must come from somewhere before they can be edited.
func (h *Handler) createCredential(w http.ResponseWriter, r *http.Request) error {
	var in credentialBody
	if err := decode(r, &in); err != nil {
		return err
	}
	c := agent.Credential{}
	for dst, src := range map[*string]*string{&c.Name: in.Name, &c.Platform: in.Platform, &c.KeyType: in.KeyType, &c.Value: in.Value} {
		if src != nil {
			*dst = *src
		}
	}
	out, err := h.Agents.CreateCredential(r.Context(), agentParam(r), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toCredential(*out))
	return nil
}

func (h *Handler) putCredential(w http.ResponseWriter, r *http.Request) error {
	var in credentialBody
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := h.Agents.UpdateCredential(r.Context(), r.PathValue("credential_uuid"), agent.CredentialUpdate{
		UUID: in.UUID, AgentUUID: in.AgentUUID, Name: in.Name, Platform: in.Platform, KeyType: in.KeyType, Value: in.Value,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCredential(*out))
	return nil
}

// transferSettings is GET/PUT /agent-settings/transfer (issue 12).
type transferSettings struct {
	MenuID                 *int64 `json:"menu_id"`
	HoldPrompt             string `json:"hold_prompt"`
	RingTimeoutSeconds     int    `json:"ring_timeout_seconds"`
	TransferTimeoutSeconds int    `json:"transfer_timeout_seconds"`
	ExternalTo             string `json:"external_to"`
}

func toTransferSettings(t *agent.TransferSettings) transferSettings {
	return transferSettings{MenuID: t.MenuID, HoldPrompt: t.HoldPrompt, RingTimeoutSeconds: t.RingTimeout,
		TransferTimeoutSeconds: t.Timeout, ExternalTo: t.ExternalTo}
}

func (h *Handler) getTransfer(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Agents.GetTransfer(r.Context(), agentParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTransferSettings(t))
	return nil
}

func (h *Handler) putTransfer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MenuID                 json.RawMessage `json:"menu_id"`
		HoldPrompt             *string         `json:"hold_prompt"`
		RingTimeoutSeconds     *api.Int        `json:"ring_timeout_seconds"`
		TransferTimeoutSeconds *api.Int        `json:"transfer_timeout_seconds"`
		ExternalTo             *string         `json:"external_to"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u := agent.TransferSettingsUpdate{HoldPrompt: in.HoldPrompt, RingTimeout: api.IntPtr(in.RingTimeoutSeconds),
		Timeout: api.IntPtr(in.TransferTimeoutSeconds), ExternalTo: in.ExternalTo}
	if len(in.MenuID) > 0 {
		if string(in.MenuID) == "null" {
			u.ClearMenu = true
		} else {
			var id int64
			if err := json.Unmarshal(in.MenuID, &id); err != nil || id <= 0 {
				return parley.FieldError("menu_id", "must be a menu id or null")
			}
			u.MenuID = &id
		}
	}
	t, err := h.Agents.UpdateTransfer(r.Context(), agentParam(r), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTransferSettings(t))
	return nil
}
