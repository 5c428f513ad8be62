package ext

import (
	"net/http"

	"github.com/parley-cc/parley"
)

// login is POST /auth: Basic login:password in, a token pair out.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	login, password, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="parley"`)
		return parley.Errorf(parley.EUNAUTHORIZED, "Basic authorization with login and password is required.")
	}
	caller, err := h.Logins.Authenticate(r, login, password)
	if err != nil {
		return err
	}
	pair, err := h.Tokens.Login(r.Context(), caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pair)
	return nil
}

// refresh is POST /auth/refresh.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.RefreshToken == "" {
		return parley.FieldError("refresh_token", "is required")
	}
	pair, err := h.Tokens.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pair)
	return nil
}
