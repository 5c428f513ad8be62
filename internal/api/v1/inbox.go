package v1

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

// The operators' inbox (issue 14): list items, read markers, search,
// internal notes, transfers, labels and canned responses. What a caller
// sees is the chat domain's sight; these handlers only translate.

type inboxMessageDTO struct {
	Seq        int    `json:"seq"`
	SenderType string `json:"sender_type"`
	Type       string `json:"type"`
	Content    string `json:"content"`
	SentTime   string `json:"sent_time"`
}

type inboxItemDTO struct {
	ChatID       int64            `json:"chat_id"`
	Status       string           `json:"status"`
	OperatorID   *int64           `json:"operator_id"`
	MenuID       *int64           `json:"menu_id"`
	ClientID     int64            `json:"client_id"`
	ClientName   string           `json:"client_name"`
	StartTime    string           `json:"start_time"`
	EndTime      *string          `json:"end_time"`
	LastMessage  *inboxMessageDTO `json:"last_message"`
	WaitingSince *string          `json:"waiting_since"`
	// CustomerInactiveSince: an operator answered and the customer has
	// not written since (the inactivity rule closes the chat after its
	// menu's time); null otherwise.
	CustomerInactiveSince *string  `json:"customer_inactive_since"`
	Unread                int      `json:"unread"`
	Labels                []string `json:"labels"`
}

// inbox answers one page of the caller's inbox: view (mine, queue, all,
// closed), menu_id, label, client_id (a customer's conversations), sort
// (waiting, newest, oldest), cursor, limit.
func (h *Handler) inbox(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := api.QueryInt(r, "limit", chat.DefaultPage, chat.MaxPage)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = chat.DefaultPage
	}
	f := chat.InboxFilter{View: q.Get("view"), Label: q.Get("label"), Sort: q.Get("sort"), Limit: limit}
	for name, dst := range map[string]*int64{"menu_id": &f.MenuID, "client_id": &f.EndUserID, "cursor": &f.Cursor} {
		if *dst, err = api.QueryID(r, name); err != nil {
			return err
		}
	}
	items, err := h.Chats.Inbox(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Chats      []inboxItemDTO `json:"chats"`
		NextCursor *int64         `json:"next_cursor"`
	}{Chats: make([]inboxItemDTO, 0, len(items))}
	for _, it := range items {
		d := inboxItemDTO{ChatID: it.ChatID, Status: statusOut[it.Status], OperatorID: it.OperatorID, MenuID: it.MenuID,
			ClientID: it.EndUserID, ClientName: it.EndUserName, StartTime: api.Time(it.CreatedAt), EndTime: api.TimePtr(it.EndedAt),
			WaitingSince: api.TimePtr(it.WaitingSince), CustomerInactiveSince: api.TimePtr(it.CustomerQuietSince), Unread: it.Unread, Labels: it.Labels}
		if m := it.LastMessage; m != nil {
			d.LastMessage = &inboxMessageDTO{Seq: m.Seq, SenderType: senderOut(m.SenderType), Type: m.Type, Content: m.Content, SentTime: api.Time(m.CreatedAt)}
		}
		out.Chats = append(out.Chats, d)
	}
	// The waiting order has no cursor: it is read whole (up to 1000).
	keyset := f.Sort == chat.SortNewest || f.Sort == chat.SortOldest || (f.Sort == "" && (f.View == chat.ViewClosed || f.EndUserID != 0))
	if len(items) > 0 && len(items) == limit && keyset {
		out.NextCursor = &items[len(items)-1].ChatID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) markRead(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	var in struct {
		Seq *int `json:"seq"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Seq == nil {
		return parley.FieldError("seq", "is required: the seq of the last message read")
	}
	seq, err := h.Chats.MarkRead(r.Context(), id, *in.Seq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat_id": id, "read_seq": seq})
	return nil
}

type searchHitDTO struct {
	messageDTO
	ChatID     int64  `json:"chat_id"`
	ChatStatus string `json:"chat_status"`
	ClientID   int64  `json:"client_id"`
	ClientName string `json:"client_name"`
}

// search answers messages matching q in the chats the caller sees, newest
// first; before_id pages.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	limit, err := api.QueryInt(r, "limit", 20, chat.MaxSearchPage)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 20
	}
	before, err := api.QueryID(r, "before_id")
	if err != nil {
		return err
	}
	hits, err := h.Chats.SearchMessages(r.Context(), r.URL.Query().Get("q"), before, limit)
	if err != nil {
		return err
	}
	out := struct {
		Messages     []searchHitDTO `json:"messages"`
		NextBeforeID *int64         `json:"next_before_id"`
	}{Messages: make([]searchHitDTO, 0, len(hits))}
	for _, x := range hits {
		out.Messages = append(out.Messages, searchHitDTO{messageDTO: toMessage(x.Message), ChatID: x.Message.ChatID,
			ChatStatus: statusOut[x.ChatStatus], ClientID: x.EndUserID, ClientName: x.EndUserName})
	}
	if n := len(hits); n > 0 && n == limit {
		out.NextBeforeID = &hits[n-1].Message.ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ---- Notes and transfers ----

type noteDTO struct {
	NoteID     int64  `json:"note_id"`
	ChatID     int64  `json:"chat_id"`
	Kind       string `json:"kind"`
	OperatorID *int64 `json:"operator_id"`
	Content    string `json:"content"`
	CreatedAt  string `json:"created_time"`
}

func toNote(n *chat.Note) noteDTO {
	return noteDTO{NoteID: n.ID, ChatID: n.ChatID, Kind: n.Kind, OperatorID: n.OperatorID, Content: n.Content, CreatedAt: api.Time(n.CreatedAt)}
}

func (h *Handler) listNotes(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	notes, err := h.Chats.ListNotes(r.Context(), id)
	if err != nil {
		return err
	}
	out := struct {
		ChatID int64     `json:"chat_id"`
		Notes  []noteDTO `json:"notes"`
	}{ChatID: id, Notes: make([]noteDTO, 0, len(notes))}
	for _, n := range notes {
		out.Notes = append(out.Notes, toNote(n))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) addNote(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := h.Chats.AddNote(r.Context(), id, in.Content)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toNote(n))
	return nil
}

func (h *Handler) transfer(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	var in struct {
		OperatorID int64  `json:"operator_id"`
		MenuID     int64  `json:"menu_id"`
		Note       string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.OperatorID < 0 || in.MenuID < 0 {
		return parley.Errorf(parley.EINVALID, "operator_id and menu_id are positive integers.")
	}
	c, err := h.Chats.TransferChat(r.Context(), id, chat.Transfer{OperatorID: in.OperatorID, MenuID: in.MenuID, Note: in.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toChat(c))
	return nil
}

// ---- Labels ----

func (h *Handler) setLabels(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	var in struct {
		Labels *[]string `json:"labels"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Labels == nil {
		return parley.FieldError("labels", "is required (an empty list removes every label)")
	}
	labels, err := h.Chats.SetLabels(r.Context(), id, *in.Labels)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat_id": id, "labels": labels})
	return nil
}

func (h *Handler) listLabels(w http.ResponseWriter, r *http.Request) error {
	ls, err := h.Chats.Labels(r.Context())
	if err != nil {
		return err
	}
	type labelDTO struct {
		Label string `json:"label"`
		Chats int    `json:"chats"`
	}
	out := struct {
		Labels []labelDTO `json:"labels"`
	}{Labels: make([]labelDTO, 0, len(ls))}
	for _, l := range ls {
		out.Labels = append(out.Labels, labelDTO{l.Label, l.Chats})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ---- Canned responses ----

type cannedDTO struct {
	CannedID  int64   `json:"canned_id"`
	Scope     string  `json:"scope"` // company or personal
	Shortcut  string  `json:"shortcut"`
	Content   string  `json:"content"`
	Text      *string `json:"text"` // for a chat: placeholders filled in; null elsewhere
	UpdatedAt string  `json:"updated_time"`
}

func toCanned(c *chat.Canned, forChat bool) cannedDTO {
	d := cannedDTO{CannedID: c.ID, Scope: "company", Shortcut: c.Shortcut, Content: c.Content, UpdatedAt: api.Time(c.UpdatedAt)}
	if c.Personal {
		d.Scope = "personal"
	}
	if forChat {
		t := c.Text
		d.Text = &t
	}
	return d
}

func writeCannedList(w http.ResponseWriter, cs []*chat.Canned, forChat bool) {
	out := struct {
		CannedResponses []cannedDTO `json:"canned_responses"`
	}{CannedResponses: make([]cannedDTO, 0, len(cs))}
	for _, c := range cs {
		out.CannedResponses = append(out.CannedResponses, toCanned(c, forChat))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) listCanned(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Chats.ListCanned(r.Context())
	if err != nil {
		return err
	}
	writeCannedList(w, cs, false)
	return nil
}

func (h *Handler) chatCanned(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return err
	}
	cs, err := h.Chats.CannedFor(r.Context(), id)
	if err != nil {
		return err
	}
	writeCannedList(w, cs, true)
	return nil
}

func (h *Handler) createCanned(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Shortcut *string `json:"shortcut"`
		Content  *string `json:"content"`
		Scope    string  `json:"scope"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	personal := false
	switch in.Scope {
	case "", "company":
		if c, _ := parley.CallerFrom(r.Context()); c.Role == parley.RoleOperator && in.Scope == "" {
			personal = true // an operator's are their own
		}
	case "personal":
		personal = true
	default:
		return parley.FieldError("scope", "must be company or personal, got %q", parley.Clip(in.Scope))
	}
	c, err := h.Chats.CreateCanned(r.Context(), chat.NewCanned{Shortcut: in.Shortcut, Content: in.Content, Personal: personal})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toCanned(c, false))
	return nil
}

func (h *Handler) updateCanned(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "cannedId")
	if err != nil {
		return err
	}
	var in struct {
		Shortcut *string `json:"shortcut"`
		Content  *string `json:"content"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := h.Chats.UpdateCanned(r.Context(), id, chat.NewCanned{Shortcut: in.Shortcut, Content: in.Content})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCanned(c, false))
	return nil
}

func (h *Handler) deleteCanned(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "cannedId")
	if err != nil {
		return err
	}
	// No body is expected; one that is there must be a JSON object (the
	// family's size limit and shape apply to every method).
	if _, err := api.DecodeOptionalStrict(r, &struct{}{}); err != nil {
		return err
	}
	if err := h.Chats.DeleteCanned(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
