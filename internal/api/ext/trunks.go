package ext

import (
	"net/http"
	"strings"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/trunk"
)

// trunkDTO is a company's SIP trunk as this family shows it: the password
// masked ("********" when set, "" when not).
type trunkDTO struct {
	TrunkUUID   string `json:"trunk_uuid"`
	Name        string `json:"name"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Transport   string `json:"transport"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	CallerID    string `json:"caller_id"`
	Codecs      string `json:"codecs"`
	RingTimeout int    `json:"ring_timeout_s"`
	Refer       bool   `json:"refer"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

const trunkTimeLayout = "2006-01-02 15:04:05"

func toTrunk(t *trunk.Trunk) trunkDTO {
	return trunkDTO{
		TrunkUUID: t.UUID, Name: t.Name, Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username,
		Password: t.Password, CallerID: t.CallerID, Codecs: t.Codecs, RingTimeout: t.RingTimeout, Refer: t.Refer,
		CreatedAt: t.CreatedAt.UTC().Format(trunkTimeLayout),
		UpdatedAt: t.UpdatedAt.UTC().Format(trunkTimeLayout),
	}
}

// trunkBody is the POST body. ring_timeout is accepted as another spelling
// of ring_timeout_s (what answers and the CLI use).
type trunkBody struct {
	CompanyUUID  string   `json:"company_uuid"` // optional; must be the caller's
	Name         string   `json:"name"`
	Host         string   `json:"host"`
	Port         *api.Int `json:"port"`
	Transport    string   `json:"transport"`
	Username     string   `json:"username"`
	Password     string   `json:"password"`
	CallerID     string   `json:"caller_id"`
	Codecs       string   `json:"codecs"`
	RingTimeout  *api.Int `json:"ring_timeout"`
	RingTimeoutS *api.Int `json:"ring_timeout_s"`
	Refer        bool     `json:"refer"`
}

func (b trunkBody) domain() (trunk.NewTrunk, error) {
	in := trunk.NewTrunk{Name: b.Name, Host: b.Host, Transport: b.Transport, Username: b.Username, Password: b.Password,
		CallerID: b.CallerID, Codecs: b.Codecs, Refer: b.Refer}
	if p := api.IntPtr(b.Port); p != nil {
		if *p == 0 { // 0 would mean "the default" to the service
			return in, parley.FieldError("port", "must be 1-65535")
		}
		in.Port = *p
	}
	ring, alias := api.IntPtr(b.RingTimeoutS), api.IntPtr(b.RingTimeout)
	if ring != nil && alias != nil && *ring != *alias {
		return in, parley.FieldError("ring_timeout", "differs from ring_timeout_s")
	}
	if ring == nil {
		ring = alias
	}
	if ring != nil {
		if *ring == 0 {
			return in, parley.FieldError("ring_timeout_s", "must be 5-300 seconds")
		}
		in.RingTimeout = *ring
	}
	return in, nil
}

// listTrunks is GET /trunks: the caller's trunks by name. company_uuid is
// optional; naming another company is "no access".
func (h *Handler) listTrunks(w http.ResponseWriter, r *http.Request) error {
	if err := ownCompany(r, r.URL.Query().Get("company_uuid")); err != nil {
		return err
	}
	ts, err := h.Trunks.List(r.Context())
	if err != nil {
		return err
	}
	out := dataList[trunkDTO]{Data: make([]trunkDTO, len(ts))}
	for i, t := range ts {
		out.Data[i] = toTrunk(t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createTrunk is POST /trunks (201).
func (h *Handler) createTrunk(w http.ResponseWriter, r *http.Request) error {
	var body trunkBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := ownCompany(r, body.CompanyUUID); err != nil {
		return err
	}
	in, err := body.domain()
	if err != nil {
		return err
	}
	t, err := h.Trunks.Create(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toTrunk(t))
	return nil
}

// getTrunk is GET /trunks/{name}; another company's trunk is 404.
func (h *Handler) getTrunk(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Trunks.GetByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTrunk(t))
	return nil
}

// deleteTrunk is DELETE /trunks/{name} (204). Calls in progress go on.
func (h *Handler) deleteTrunk(w http.ResponseWriter, r *http.Request) error {
	if err := h.Trunks.DeleteByName(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// trunkUpdateBody is the PUT body: every field optional, an omitted (or
// null) one unchanged. password "" clears the password.
type trunkUpdateBody struct {
	CompanyUUID  string   `json:"company_uuid"` // optional; must be the caller's
	Name         *string  `json:"name"`         // optional; must be the path's
	Host         *string  `json:"host"`
	Port         *api.Int `json:"port"`
	Transport    *string  `json:"transport"`
	Username     *string  `json:"username"`
	Password     *string  `json:"password"`
	CallerID     *string  `json:"caller_id"`
	Codecs       *string  `json:"codecs"`
	RingTimeout  *api.Int `json:"ring_timeout"`
	RingTimeoutS *api.Int `json:"ring_timeout_s"`
	Refer        *bool    `json:"refer"`
}

func (b trunkUpdateBody) domain(pathName string) (trunk.Update, error) {
	u := trunk.Update{Host: b.Host, Port: api.IntPtr(b.Port), Transport: b.Transport, Username: b.Username,
		Password: b.Password, CallerID: b.CallerID, Codecs: b.Codecs, Refer: b.Refer}
	if b.Name != nil && strings.TrimSpace(*b.Name) != strings.TrimSpace(pathName) {
		return u, parley.FieldError("name", "cannot be changed (delete the trunk and create it under the new name)")
	}
	ring, alias := api.IntPtr(b.RingTimeoutS), api.IntPtr(b.RingTimeout)
	if ring != nil && alias != nil && *ring != *alias {
		return u, parley.FieldError("ring_timeout", "differs from ring_timeout_s")
	}
	if ring == nil {
		ring = alias
	}
	u.RingTimeout = ring
	return u, nil
}

// updateTrunk is PUT /trunks/{name}: a partial update (200 with the
// trunk). Calls placed after it use the new configuration; another
// company's trunk is 404.
func (h *Handler) updateTrunk(w http.ResponseWriter, r *http.Request) error {
	var body trunkUpdateBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := ownCompany(r, body.CompanyUUID); err != nil {
		return err
	}
	name := r.PathValue("name")
	u, err := body.domain(name)
	if err != nil {
		return err
	}
	t, err := h.Trunks.Update(r.Context(), name, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTrunk(t))
	return nil
}
