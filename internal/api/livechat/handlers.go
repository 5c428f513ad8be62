package livechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

func senderOut(s string) string {
	if s == chat.SenderEndUser {
		return "client"
	}
	return s
}

type endUserDTO struct {
	EndUserUUID string `json:"endUserUuid"`
	Identifier  string `json:"identifier"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
}

type conversationDTO struct {
	ConversationUUID string      `json:"conversationUuid"`
	ChatID           int64       `json:"chatId"`
	ProjectUUID      string      `json:"projectUuid"`
	Status           string      `json:"status"`
	EndUser          *endUserDTO `json:"endUser,omitempty"`
	CreatedAt        int64       `json:"createdAt"`
	UpdatedAt        int64       `json:"updatedAt"`
	EndedAt          *int64      `json:"endedAt"`
}

func toConversation(c *chat.Chat, project string) conversationDTO {
	d := conversationDTO{ConversationUUID: c.UUID, ChatID: c.ID, ProjectUUID: project, Status: c.Status,
		CreatedAt: c.CreatedAt.UnixMilli(), UpdatedAt: c.UpdatedAt.UnixMilli()}
	if c.EndedAt != nil {
		e := c.EndedAt.UnixMilli()
		d.EndedAt = &e
	}
	return d
}

type messageDTO struct {
	ItemUUID         *string `json:"itemUuid"`
	ConversationUUID string  `json:"conversationUuid"`
	Seq              int     `json:"seq"`
	SenderType       string  `json:"senderType"`
	Text             string  `json:"text"`
	CreatedAt        int64   `json:"createdAt"`
}

func toMessage(m *chat.Message, conversation string) messageDTO {
	d := messageDTO{ConversationUUID: conversation, Seq: m.Seq, SenderType: senderOut(m.SenderType), Text: m.Content, CreatedAt: m.CreatedAt.UnixMilli()}
	if m.UUID != "" {
		d.ItemUUID = &m.UUID
	}
	return d
}

// project resolves the path's project within the caller's company.
func (h *Handler) project(r *http.Request) (*chat.Project, error) {
	s := r.PathValue("projectUuid")
	if _, err := uuid.Parse(s); err != nil {
		return nil, &parley.Error{Code: parley.EINVALID, Message: "projectUuid: must be a UUID",
			Fields: map[string]string{"projectUuid": "must be a UUID"}}
	}
	return h.Chats.ProjectByUUID(r.Context(), s)
}

// conversation resolves the path's project and conversation; a chat of
// another project or company is not found.
func (h *Handler) conversation(r *http.Request) (*chat.Project, *chat.Chat, error) {
	p, err := h.project(r)
	if err != nil {
		return nil, nil, err
	}
	s := r.PathValue("conversationUuid")
	if _, err := uuid.Parse(s); err != nil {
		return nil, nil, &parley.Error{Code: parley.EINVALID, Message: "conversationUuid: must be a UUID",
			Fields: map[string]string{"conversationUuid": "must be a UUID"}}
	}
	c, err := h.Chats.ChatByUUID(r.Context(), p.ID, s)
	return p, c, err
}

// checkCompany enforces the optional companyUuid of a body: when given it
// must name the caller's own company.
func checkCompany(ctx context.Context, companyUUID *string) error {
	if companyUUID == nil {
		return nil
	}
	c, _ := parley.CallerFrom(ctx)
	if *companyUUID != c.CompanyUUID {
		return &parley.Error{Code: parley.EFORBIDDEN, Message: "companyUuid does not name the caller's company.",
			Fields: map[string]string{"companyUuid": "is not the caller's company"}}
	}
	return nil
}

// ---- Conversations ----

func (h *Handler) createConversation(w http.ResponseWriter, r *http.Request) error {
	p, err := h.project(r)
	if err != nil {
		return err
	}
	var in struct {
		CompanyUUID *string `json:"companyUuid"`
		EndUser     *struct {
			Identifier string `json:"identifier"`
			Name       string `json:"name"`
			Email      string `json:"email"`
			Phone      string `json:"phone"`
		} `json:"endUser"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if err := checkCompany(r.Context(), in.CompanyUUID); err != nil {
		return err
	}
	if in.EndUser == nil {
		return parley.FieldError("endUser", "is required")
	}
	o, err := h.Chats.OpenChat(r.Context(), chat.NewChat{ProjectID: p.ID, EndUser: chat.NewEndUser{Identifier: in.EndUser.Identifier,
		Name: in.EndUser.Name, Email: in.EndUser.Email, Phone: in.EndUser.Phone}})
	if err != nil {
		return err
	}
	d, u := toConversation(o.Chat, p.UUID), o.EndUser
	d.EndUser = &endUserDTO{EndUserUUID: u.UUID, Identifier: u.Identifier, Name: u.Name, Email: u.Email, Phone: u.Phone}
	writeData(w, http.StatusCreated, d)
	return nil
}

func (h *Handler) listConversations(w http.ResponseWriter, r *http.Request) error {
	p, err := h.project(r)
	if err != nil {
		return err
	}
	limit, err := api.QueryInt(r, "limit", 50, chat.MaxPage)
	if err != nil {
		return err
	}
	offset, err := api.QueryInt(r, "offset", 0, 1<<30)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 50
	}
	cs, err := h.Chats.ListProjectChats(r.Context(), p.ID, limit, offset)
	if err != nil {
		return err
	}
	items := make([]conversationDTO, 0, len(cs))
	for _, c := range cs {
		items = append(items, toConversation(c, p.UUID))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "limit": limit, "offset": offset})
	return nil
}

func (h *Handler) closeConversation(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.conversation(r)
	if err != nil {
		return err
	}
	// The body is optional; when present it may name the company.
	var in struct {
		CompanyUUID *string `json:"companyUuid"`
	}
	if _, err := api.DecodeOptional(r, &in); err != nil {
		return err
	}
	if err := checkCompany(r.Context(), in.CompanyUUID); err != nil {
		return err
	}
	c, err = h.Chats.UpdateChatStatus(r.Context(), c.ID, chat.StatusFinished, nil)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, toConversation(c, p.UUID))
	return nil
}

// ---- Messages ----

func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	_, c, err := h.conversation(r)
	if err != nil {
		return err
	}
	after, err := api.QueryInt(r, "afterSeq", 0, 1<<30)
	if err != nil {
		return err
	}
	limit, err := api.QueryInt(r, "limit", 100, chat.MaxPage)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	ms, err := h.Chats.ListMessages(r.Context(), c.ID, after, limit)
	if err != nil {
		return err
	}
	items := make([]messageDTO, 0, len(ms))
	next := after
	for _, m := range ms {
		items = append(items, toMessage(m, c.UUID))
		next = m.Seq
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "nextAfterSeq": next})
	return nil
}

func (h *Handler) postOperatorMessage(w http.ResponseWriter, r *http.Request) error {
	return h.postMessage(w, r, chat.SenderOperator)
}

func (h *Handler) postClientMessage(w http.ResponseWriter, r *http.Request) error {
	return h.postMessage(w, r, chat.SenderEndUser)
}

// messageRequest is LiveChatOperatorMessageGatewayRequestDTO; the client
// route takes the same body.
type messageRequest struct {
	CompanyUUID    *string `json:"companyUuid"`
	ItemUUID       *string `json:"itemUuid"`
	Text           *string `json:"text"`
	IdempotencyKey *string `json:"idempotencyKey"`
}

func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request, sender string) error {
	ctx := r.Context()
	var in messageRequest
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if err := checkCompany(ctx, in.CompanyUUID); err != nil {
		return err
	}
	if in.ItemUUID == nil {
		return parley.FieldError("itemUuid", "is required")
	}
	item, err := uuid.Parse(*in.ItemUUID)
	if err != nil {
		return parley.FieldError("itemUuid", "must be a UUID")
	}
	text := ""
	if in.Text != nil {
		text = *in.Text
	}
	p, c, err := h.conversation(r)
	if err != nil {
		return err
	}
	opt := chat.PostOptions{UUID: item.String()}
	if in.IdempotencyKey != nil {
		if strings.TrimSpace(*in.IdempotencyKey) == "" {
			return parley.FieldError("idempotencyKey", "is required when given")
		}
		// The request's identity: route, path objects and the body without
		// the key, in a fixed JSON form.
		canon, _ := json.Marshal([]string{sender, p.UUID, c.UUID, item.String(), text})
		sum := sha256.Sum256(canon)
		opt.IdempotencyKey, opt.RequestHash = *in.IdempotencyKey, hex.EncodeToString(sum[:])
	}
	m, replayed, err := h.Chats.PostMessageWith(ctx, c.ID, sender, text, opt)
	if errors.Is(err, chat.ErrIdempotencyKeyReused) {
		return &parley.Error{Code: eKeyReused, Message: "This idempotencyKey was used with another request.",
			Fields: map[string]string{"idempotencyKey": "was used with another request"}}
	} else if err != nil {
		return err
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	writeData(w, status, toMessage(m, c.UUID))
	return nil
}
