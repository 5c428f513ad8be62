package v1

import (
	"net/http"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

// Statuses on the wire. The seed's example is "closed"; "open" is its
// natural opposite. The domain's names are accepted too.
var statusIn = map[string]string{
	"open": chat.StatusQueued, "queued": chat.StatusQueued,
	"assigned": chat.StatusAssigned,
	"closed":   chat.StatusFinished, "finished": chat.StatusFinished,
	"dismissed": chat.StatusDismissed, "timed_out": chat.StatusTimedOut,
}

var statusOut = map[string]string{
	chat.StatusQueued: "open", chat.StatusAssigned: "assigned",
	chat.StatusFinished: "closed", chat.StatusDismissed: "dismissed",
	// A virtual agent is serving the chat: open, but not in the queue.
	chat.StatusVA: "va_assigned", chat.StatusTimedOut: "timed_out",
}

// Sender types on the wire: the seed calls end users "client".
var senderIn = map[string]string{
	"client": chat.SenderEndUser, chat.SenderEndUser: chat.SenderEndUser,
	"operator": chat.SenderOperator, "virtual_agent": chat.SenderVirtualAgent, "system": chat.SenderSystem,
}

func senderOut(s string) string {
	if s == chat.SenderEndUser {
		return "client"
	}
	return s
}

// ---- Clients ----

type clientDTO struct {
	ClientID    int64  `json:"client_id"`
	Name        string `json:"name"`
	ContactInfo string `json:"contact_info"`
}

func toClient(u *chat.EndUser) clientDTO {
	return clientDTO{ClientID: u.ID, Name: u.Name, ContactInfo: u.Contact()}
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        string `json:"name"`
		ContactInfo string `json:"contact_info"`
		Identifier  string `json:"identifier"`
		Email       string `json:"email"`
		Phone       string `json:"phone"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := h.Chats.CreateClient(r.Context(), chat.NewEndUser{Name: in.Name, ContactInfo: in.ContactInfo,
		Identifier: in.Identifier, Email: in.Email, Phone: in.Phone})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toClient(u))
	return nil
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "clientId")
	if err != nil {
		return err
	}
	u, err := h.Chats.GetClient(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toClient(u))
	return nil
}

// ---- Operators ----

type operatorDTO struct {
	OperatorID int64  `json:"operator_id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Capacity   int    `json:"capacity"`
	Load       int    `json:"load"`
	// Disabled: the operator's user no longer has the operator role; the
	// row stays (chats and reports name it) but cannot go online.
	Disabled bool `json:"disabled"`
}

func toOperator(o *chat.Operator) operatorDTO {
	return operatorDTO{OperatorID: o.ID, Name: o.Name, Status: o.Status, Capacity: o.Capacity, Load: o.Load, Disabled: o.Disabled}
}

func (h *Handler) createOperator(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := h.Chats.CreateOperator(r.Context(), in.Name, in.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toOperator(o))
	return nil
}

func (h *Handler) listOperators(w http.ResponseWriter, r *http.Request) error {
	ops, err := h.Chats.ListOperators(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Operators []operatorDTO `json:"operators"`
	}{Operators: make([]operatorDTO, 0, len(ops))}
	for _, o := range ops {
		out.Operators = append(out.Operators, toOperator(o))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// me answers the operator of an operator-role caller (the console finds
// its own operator id here); other roles have none: 403.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	id, ok, err := h.Chats.CallerOperatorID(r.Context())
	if err != nil {
		return err
	}
	if !ok {
		return parley.Errorf(parley.EFORBIDDEN, "Only operator users have an operator.")
	}
	o, err := h.Chats.GetOperator(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOperator(o))
	return nil
}

func (h *Handler) updateOperator(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "operatorId")
	if err != nil {
		return err
	}
	var in struct {
		Name     *string  `json:"name"`
		Status   *string  `json:"status"`
		Capacity *api.Int `json:"capacity"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := h.Chats.UpdateOperator(r.Context(), id, chat.OperatorUpdate{Name: in.Name, Status: in.Status, Capacity: api.IntPtr(in.Capacity)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOperator(o))
	return nil
}

// ---- Chats ----

type chatDTO struct {
	ChatID     int64   `json:"chat_id"`
	ClientID   int64   `json:"client_id"`
	Status     string  `json:"status"`
	OperatorID *int64  `json:"operator_id"`
	StartTime  string  `json:"start_time"`
	EndTime    *string `json:"end_time,omitempty"`
}

func toChat(c *chat.Chat) chatDTO {
	return chatDTO{ChatID: c.ID, ClientID: c.EndUserID, Status: statusOut[c.Status], OperatorID: c.OperatorID,
		StartTime: api.Time(c.CreatedAt), EndTime: api.TimePtr(c.EndedAt)}
}

func (h *Handler) createChat(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ClientID int64 `json:"client_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ClientID <= 0 {
		return parley.FieldError("client_id", "is required and must be a positive integer")
	}
	c, err := h.Chats.CreateChat(r.Context(), in.ClientID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toChat(c))
	return nil
}

// listChats pages through the company's chats by id: status filters (the
// wire names), after_id is the keyset cursor. Operators see their own
// chats, and the queue with status=open.
func (h *Handler) listChats(w http.ResponseWriter, r *http.Request) error {
	limit, err := api.QueryInt(r, "limit", 100, chat.MaxPage)
	if err != nil {
		return err
	}
	after, err := api.QueryInt(r, "after_id", 0, 1<<62)
	if err != nil {
		return err
	}
	f := chat.ChatFilter{AfterID: int64(after), Limit: limit}
	if s := r.URL.Query().Get("status"); s != "" {
		st, ok := statusIn[s]
		if !ok {
			return parley.FieldError("status", "must be open, assigned, closed, dismissed or timed_out, got %q", parley.Clip(s))
		}
		f.Status = st
	}
	cs, err := h.Chats.ListChats(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Chats     []chatDTO `json:"chats"`
		NextAfter *int64    `json:"next_after_id"`
	}{Chats: make([]chatDTO, 0, len(cs))}
	for _, c := range cs {
		out.Chats = append(out.Chats, toChat(c))
	}
	if len(cs) > 0 && len(cs) == f.PageSize() {
		out.NextAfter = &cs[len(cs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getChat(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	c, err := h.Chats.GetChat(r.Context(), id)
	if err != nil {
		return err
	}
	d, err := h.Chats.ChatDetail(r.Context(), c)
	if err != nil {
		return err
	}
	out := chatDetailDTO{chatDTO: toChat(c), CustomerInactiveSince: api.TimePtr(d.QuietSince), InactiveCloseTime: api.TimePtr(d.CloseAt)}
	if d.Rating != nil {
		out.Rating = &ratingDTO{Rating: d.Rating.Rating, Comment: d.Rating.Comment, RatedTime: api.Time(d.Rating.CreatedAt)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// chatDetailDTO is one chat as GET /chats/{chatId} answers it (added,
// issue 14): the seed's chat with the customer's inactivity and rating.
type chatDetailDTO struct {
	chatDTO
	CustomerInactiveSince *string    `json:"customer_inactive_since"`
	InactiveCloseTime     *string    `json:"inactive_close_time"`
	Rating                *ratingDTO `json:"rating"`
}

type ratingDTO struct {
	Rating    int    `json:"rating"`
	Comment   string `json:"comment"`
	RatedTime string `json:"rated_time"`
}

func (h *Handler) updateChat(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	var in struct {
		Status  string  `json:"status"`
		EndTime *string `json:"end_time"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	status, ok := statusIn[in.Status]
	if !ok {
		return parley.FieldError("status", "must be open, assigned, closed or dismissed, got %q", parley.Clip(in.Status))
	}
	var end *time.Time
	if in.EndTime != nil {
		t, err := time.Parse(time.RFC3339, *in.EndTime)
		if err != nil {
			return parley.FieldError("end_time", "must be an RFC 3339 time such as 2025-01-02T15:04:05Z, got %q", parley.Clip(*in.EndTime))
		}
		end = &t
	}
	c, err := h.Chats.UpdateChatStatus(r.Context(), id, status, end)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toChat(c))
	return nil
}

// ---- Messages ----

type messageDTO struct {
	MessageID  int64  `json:"message_id"`
	Seq        int    `json:"seq"`
	SenderType string `json:"sender_type"`
	SenderID   *int64 `json:"sender_id,omitempty"`
	Type       string `json:"type"` // text, photo, video (content: the media key), transcript
	Content    string `json:"content"`
	SentTime   string `json:"sent_time"`
}

func toMessage(m *chat.Message) messageDTO {
	return messageDTO{MessageID: m.ID, Seq: m.Seq, SenderType: senderOut(m.SenderType), SenderID: m.SenderID,
		Type: m.Type, Content: m.Content, SentTime: api.Time(m.CreatedAt)}
}

func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	after, err := api.QueryInt(r, "after_seq", 0, 1<<31-1)
	if err != nil {
		return err
	}
	limit, err := api.QueryInt(r, "limit", chat.MaxPage, chat.MaxPage)
	if err != nil {
		return err
	}
	msgs, err := h.Chats.ListMessages(r.Context(), id, after, limit)
	if err != nil {
		return err
	}
	out := struct {
		ChatID   int64        `json:"chat_id"`
		Messages []messageDTO `json:"messages"`
	}{ChatID: id, Messages: make([]messageDTO, 0, len(msgs))}
	for _, m := range msgs {
		out.Messages = append(out.Messages, toMessage(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	var in struct {
		SenderType string `json:"sender_type"`
		Content    string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if c, _ := parley.CallerFrom(r.Context()); in.SenderType == "" && c.Role == parley.RoleOperator {
		in.SenderType = "operator"
	}
	sender, ok := senderIn[in.SenderType]
	if !ok {
		return parley.FieldError("sender_type", "must be client, operator, virtual_agent or system, got %q", parley.Clip(in.SenderType))
	}
	m, err := h.Chats.PostMessage(r.Context(), id, sender, in.Content)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toMessage(m))
	return nil
}
