package realtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/jwt"
	"github.com/parley-cc/parley/internal/store"
)

// End-user stream tokens: a company's backend asks for one (POST
// /v1/stream/tokens) and hands it to its chat widget, which may then watch
// that one chat and nothing else.
const (
	EndUserTokenTTL = time.Hour
	endUserAudience = "parley-end-user"
	endUserType     = "end_user_stream"
	issuer          = "parley"
	signingKeyName  = "realtime-signing-key"
	leeway          = 5 * time.Second
)

type endUserClaims struct {
	jwt.Claims
	Type      string `json:"typ"`
	CompanyID int64  `json:"cid"`
	ChatID    int64  `json:"chat"`
}

// principal is who holds a connection.
type principal struct {
	kind     int
	company  int64
	operator int64 // kindOperator: the operator row
	chat     int64 // kindEndUser: the one chat
	caller   parley.Caller
}

const (
	kindStaff    = iota // admin and api roles: every chat of the company
	kindOperator        // chats assigned to them, and the queue of their menus (chat.Sight)
	kindEndUser         // one chat
)

// ctx is the context the hub reads the store in for this principal.
func (p *principal) ctx(parent context.Context) context.Context {
	return parley.WithCaller(parent, p.caller)
}

// chatState is what visibility depends on: a chat's status, operator and
// menu after its event seq.
type chatState struct {
	status   string
	operator int64
	menu     int64
	seq      int64
	known    bool // false: not known (a cold cache), visible to staff only
}

// sees reports whether p may watch chat id in state st. An operator's
// sight is the chat domain's rule (chat.Sight), which the hub's loop keeps
// per operator (Hub.sight); only the loop may ask for an operator.
func (h *Hub) sees(p *principal, id int64, st chatState) bool {
	switch p.kind {
	case kindStaff:
		return true
	case kindEndUser:
		return id == p.chat
	}
	if !st.known {
		return false
	}
	g := h.sight(p, st.menu)
	return g != nil && g.Sees(st.status, st.operator, st.menu)
}

// allowed reports whether an event of type typ goes to p at all; sender is
// the sender type of a message.created event's message. An end user gets
// what the chat domain says they see (chat.EndUserSeesEvent), the filter
// the widget's REST API applies too.
func (p *principal) allowed(typ, sender string) bool {
	return p.kind != kindEndUser || chat.EndUserSeesEvent(typ, sender)
}

// loadKey reads the end-user token key, creating it at the first start.
func loadKey(ctx context.Context, db *store.DB) ([]byte, error) {
	key, err := db.ServerKey(ctx, signingKeyName)
	if err != nil {
		return nil, fmt.Errorf("realtime: %w", err)
	}
	return key, nil
}

// IssueEndUserToken signs a token that lets its holder watch one chat of
// the company for EndUserTokenTTL.
func (h *Hub) IssueEndUserToken(companyID, chatID int64) (token string, expires time.Time, err error) {
	now := h.Now()
	expires = now.Add(EndUserTokenTTL)
	c := endUserClaims{Type: endUserType, CompanyID: companyID, ChatID: chatID,
		Claims: jwt.Claims{Issuer: issuer, Audience: jwt.Audience{endUserAudience},
			Subject: fmt.Sprintf("chat:%d", chatID), IssuedAt: jwt.Date(now), ExpiresAt: jwt.Date(expires)}}
	token, err = jwt.Sign(h.key, c)
	return token, expires, err
}

func (h *Hub) parseEndUser(token string) (*endUserClaims, error) {
	c := &endUserClaims{}
	if err := h.verifier.Verify(token, h.key, c); err != nil {
		return nil, err
	}
	if c.Type != endUserType || c.CompanyID <= 0 || c.ChatID <= 0 {
		return nil, errors.New("realtime: wrong token type")
	}
	return c, nil
}

// ParseEndUserToken checks an end-user stream token and returns the
// company and the one chat it is for. The widget API takes the same tokens.
func (h *Hub) ParseEndUserToken(token string) (companyID, chatID int64, err error) {
	c, err := h.parseEndUser(token)
	if err != nil {
		return 0, 0, parley.Errorf(parley.EUNAUTHORIZED, "Invalid or expired token.")
	}
	return c.CompanyID, c.ChatID, nil
}

// authenticate finds the principal of a stream request: a staff or
// operator access token, or an end-user stream token, from the
// Authorization header or the access_token query parameter (browsers
// cannot set headers on a WebSocket).
func (h *Hub) authenticate(r *http.Request) (*principal, error) {
	token := ""
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, t, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, parley.Errorf(parley.EUNAUTHORIZED, "A Bearer token is required.")
		}
		token = strings.TrimSpace(t)
	} else {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "A token is required: an Authorization: Bearer header or the access_token parameter.")
	}
	if caller, err := h.Tokens.ParseAccess(token); err == nil {
		p := &principal{kind: kindStaff, company: caller.CompanyID, caller: caller}
		if caller.Role == parley.RoleOperator {
			p.kind = kindOperator
			id, ok, err := h.Chats.CallerOperatorID(p.ctx(r.Context()))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, parley.Errorf(parley.EFORBIDDEN, "The user is not an operator of the company.")
			}
			p.operator = id
		} else if !caller.HasAPIAccess() {
			return nil, parley.Errorf(parley.EFORBIDDEN, "The role %q may not use the stream.", caller.Role)
		}
		return p, nil
	}
	c, err := h.parseEndUser(token)
	if err != nil {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "Invalid or expired token.")
	}
	return &principal{kind: kindEndUser, company: c.CompanyID, chat: c.ChatID,
		caller: parley.Caller{CompanyID: c.CompanyID, Role: parley.RoleEndUser}}, nil
}

// ---- HTTP answers outside the WebSocket: the v1 error shape ----

var errorFormat = api.ErrorFormat{Body: api.NestedErrorBody, Header: func(h http.Header, p api.Problem) {
	if p.Code == parley.EUNAUTHORIZED && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
}}

func (h *Hub) writeError(w http.ResponseWriter, r *http.Request, err error) {
	errorFormat.Write(h.Log, w, r, err)
}

// issueToken serves POST /v1/stream/tokens: {"chat_id": N} ->
// {"token", "expires_at", "chat_id"}, for admin and api callers.
func (h *Hub) issueToken(w http.ResponseWriter, r *http.Request) error {
	caller, _ := parley.CallerFrom(r.Context())
	if !caller.HasAPIAccess() {
		return parley.Errorf(parley.EFORBIDDEN, "Only admin and api users issue end-user stream tokens.")
	}
	var in struct {
		ChatID int64 `json:"chat_id"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.ChatID <= 0 {
		return parley.FieldError("chat_id", "must be a positive integer")
	}
	if _, err := h.Chats.GetChat(r.Context(), in.ChatID); err != nil {
		return err
	}
	token, exp, err := h.IssueEndUserToken(caller.CompanyID, in.ChatID)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"token": token, "expires_at": api.Time(exp), "chat_id": in.ChatID})
	return nil
}
