package ext

import (
	"net/http"
	"time"

	"github.com/parley-cc/parley"
)

type scriptBody struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

type scriptInfo struct {
	AgentUUID string `json:"agent_uuid"`
	Name      string `json:"name"`
	UpdatedAt string `json:"updated_at"`
}

// scriptWithSource is one script as GET ?name= returns it.
type scriptWithSource struct {
	scriptInfo
	Source string `json:"source"`
}

// getScripts is GET /agent-settings/script: the agent's scripts, or with
// name= one script with its source.
func (h *Handler) getScripts(w http.ResponseWriter, r *http.Request) error {
	if name := r.URL.Query().Get("name"); name != "" {
		sc, err := h.Agents.GetScript(r.Context(), agentParam(r), name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, scriptWithSource{scriptInfo{AgentUUID: sc.AgentUUID, Name: sc.Name, UpdatedAt: sc.UpdatedAt.Format(time.RFC3339)}, sc.Source})
		return nil
	}
	list, err := h.Agents.ListScripts(r.Context(), agentParam(r))
	if err != nil {
		return err
	}
	out := dataList[scriptInfo]{Data: make([]scriptInfo, len(list))}
	for i, sc := range list {
		out.Data[i] = scriptInfo{AgentUUID: sc.AgentUUID, Name: sc.Name, UpdatedAt: sc.UpdatedAt.Format(time.RFC3339)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putScript is PUT /agent-settings/script: create or replace a script. A
// script that does not compile is a 409 naming the line and column.
func (h *Handler) putScript(w http.ResponseWriter, r *http.Request) error {
	var in scriptBody
	if err := decode(r, &in); err != nil {
		return err
	}
	sc, err := h.Agents.PutScript(r.Context(), agentParam(r), in.Name, in.Source)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, scriptInfo{AgentUUID: sc.AgentUUID, Name: sc.Name, UpdatedAt: sc.UpdatedAt.Format(time.RFC3339)})
	return nil
}

func (h *Handler) deleteScript(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("name")
	if name == "" {
		return parley.FieldError("name", "is required")
	}
	if err := h.Agents.DeleteScript(r.Context(), agentParam(r), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type scriptCheckBody struct {
	Source string `json:"source"`
}

type scriptProblem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type scriptCheck struct {
	OK     bool            `json:"ok"`
	Errors []scriptProblem `json:"errors"`
}

// checkScript is POST /agent-settings/script/check: compile a source for
// the agent without saving it. A script that does not compile is still a
// 200, with ok false and the errors at their line and column, so that an
// editor can mark them; only a request that cannot be checked is an error.
func (h *Handler) checkScript(w http.ResponseWriter, r *http.Request) error {
	var in scriptCheckBody
	if err := decode(r, &in); err != nil {
		return err
	}
	problems, err := h.Agents.CheckScript(r.Context(), agentParam(r), in.Source)
	if err != nil {
		return err
	}
	out := scriptCheck{OK: len(problems) == 0, Errors: make([]scriptProblem, len(problems))}
	for i, p := range problems {
		out.Errors[i] = scriptProblem{Line: p.Line, Column: p.Column, Message: p.Message}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
