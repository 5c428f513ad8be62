package v1

import (
	"net/http"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/auth"
)

// The user methods let a company's admin and api users manage its logins
// from the supervisor pages (until now only the installation's CLI could).
// Operators are refused by the auth service, which owns users.

type userDTO struct {
	UserID     int64  `json:"user_id"`
	Login      string `json:"login"`
	Role       string `json:"role"`
	OperatorID *int64 `json:"operator_id"`
	CreatedAt  string `json:"created_at,omitempty"`
}

func toUser(u *auth.User) userDTO {
	return userDTO{UserID: u.ID, Login: u.Login, Role: u.Role, OperatorID: u.OperatorID}
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := h.Users.ListCompanyUsers(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Users []userDTO `json:"users"`
	}{Users: make([]userDTO, 0, len(us))}
	for _, u := range us {
		d := toUser(&u.User)
		d.CreatedAt = api.Time(u.CreatedAt)
		out.Users = append(out.Users, d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := h.Users.CreateCompanyUser(r.Context(), in.Login, in.Password, in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toUser(u))
	return nil
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "userId")
	if err != nil {
		return err
	}
	var in struct {
		Role string `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := h.Users.SetCompanyUserRole(r.Context(), id, in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUser(u))
	return nil
}

// resetPassword answers a generated password once, in the response only;
// the request's own password is never echoed.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "userId")
	if err != nil {
		return err
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, generated, err := h.Users.ResetCompanyUserPassword(r.Context(), id, in.Password)
	if err != nil {
		return err
	}
	out := struct {
		userDTO
		Password *string `json:"password"`
	}{userDTO: toUser(u)}
	if generated != "" {
		out.Password = &generated
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}
