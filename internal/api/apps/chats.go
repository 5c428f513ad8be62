package apps

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

func chatRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/chats", Handle: (*Handler).createChat},
		{Method: "GET", Path: "/chats", Handle: (*Handler).listChats},
		{Method: "GET", Path: "/chats/{id}", Handle: (*Handler).getChat},
		{Method: "PATCH", Path: "/chats/{id}", Handle: (*Handler).updateChat},
		{Method: "POST", Path: "/chats/{id}/message", Handle: (*Handler).postMessage},
		{Method: "POST", Path: "/chats/{id}/typing", Handle: (*Handler).typing},
		{Method: "POST", Path: "/chats/{id}/escalations", Handle: (*Handler).createEscalation},
		{Method: "PATCH", Path: "/chats/{id}/escalations/{escalationId}", Handle: (*Handler).updateEscalation},
		{Method: "POST", Path: "/chats/{id}/photos", Handle: (*Handler).attachPhotos},
		{Method: "GET", Path: "/chats/{id}/photos", Handle: (*Handler).listPhotos},
		{Method: "POST", Path: "/chats/{id}/photos/upload", Handle: (*Handler).uploadPhoto},
		{Method: "POST", Path: "/chats/{id}/videos", Handle: (*Handler).attachVideo},
		{Method: "GET", Path: "/chats/{id}/videos", Handle: (*Handler).listVideos},
		{Method: "POST", Path: "/chats/{id}/videos/upload", Handle: (*Handler).uploadVideo},
		{Method: "GET", Path: "/chats/{id}/customer_flag", Handle: (*Handler).getFlags},
		{Method: "POST", Path: "/chats/{id}/customer_flag", Handle: (*Handler).setFlags},
		{Method: "POST", Path: "/chats/{id}/custom_data", Handle: (*Handler).customData},
		{Method: "POST", Path: "/chats/{id}/end-user", Handle: (*Handler).updateEndUser},
		{Method: "GET", Path: "/menus", Handle: (*Handler).listMenus},
		{Method: "POST", Path: "/menus", Handle: (*Handler).createMenu},
		{Method: "GET", Path: "/menus/{id}", Handle: (*Handler).getMenu},
		{Method: "PATCH", Path: "/menus/{id}", Handle: (*Handler).updateMenu},
		{Method: "POST", Path: "/projects", Handle: (*Handler).createProject},
		{Method: "DELETE", Path: "/menus/{id}", Handle: (*Handler).deleteMenu},
		{Method: "GET", Path: "/projects", Handle: (*Handler).listProjects},
	}
}

// staffOnly refuses operator-role callers: menus and projects are the
// company's configuration.
func staffOnly(r *http.Request) error {
	if c, _ := parley.CallerFrom(r.Context()); !c.HasAPIAccess() {
		return parley.Errorf(parley.EFORBIDDEN, "Only admin and API users may change the company's configuration.")
	}
	return nil
}

// statusText explains each status to people.
var statusText = map[string]string{
	chat.StatusVA:        "Chatting with a virtual agent",
	chat.StatusQueued:    "Waiting for an agent",
	chat.StatusAssigned:  "Chatting with an agent",
	chat.StatusFinished:  "Finished",
	chat.StatusDismissed: "Dismissed",
	chat.StatusTimedOut:  "Timed out",
}

type agentDTO struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	AvatarURL string `json:"avatar_url"`
	Status    string `json:"status"`
}

type virtualAgentDTO struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	Status    string `json:"status"`
}

type menuRefDTO struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type endUserRefDTO struct {
	ID         int64  `json:"id"`
	Identifier string `json:"identifier"`
}

// chatDTO is the seed's chat object, plus the chat's UUID (the gateway's
// conversationUuid) and the fields PATCH sets.
type chatDTO struct {
	ID                int64             `json:"id"`
	UUID              string            `json:"uuid"`
	Status            string            `json:"status"`
	StatusText        string            `json:"status_text"`
	Features          []string          `json:"features"`
	CreatedAt         string            `json:"created_at"`
	EndsAt            *string           `json:"ends_at"`
	TimeoutAt         *string           `json:"timeout_at"`
	Agent             *agentDTO         `json:"agent"`
	VirtualAgent      *virtualAgentDTO  `json:"virtual_agent"`
	AllAgents         []agentDTO        `json:"all_agents"`
	AllVirtualAgents  []virtualAgentDTO `json:"all_virtual_agents"`
	Lang              string            `json:"lang"`
	Menus             []menuRefDTO      `json:"menus"`
	EndUser           endUserRefDTO     `json:"end_user"`
	DeflectionChannel string            `json:"deflection_channel"`
	EscalationID      *int64            `json:"escalation_id"`
	FinishedByUserID  *int64            `json:"finished_by_user_id"`
	// Context is the metadata the chat was created with (a JSON object);
	// CustomData the custom data fields set since ({name: {label, value}}).
	Context    json.RawMessage `json:"context"`
	CustomData json.RawMessage `json:"custom_data"`
}

// features are what every chat supports.
var features = []string{"text", "photo", "video", "escalation", "custom_data"}

func toAgent(p chat.Person) agentDTO {
	first := p.FirstName
	if first == "" {
		first, _, _ = strings.Cut(p.Name, " ")
	}
	return agentDTO{ID: p.ID, Name: p.Name, FirstName: first, AvatarURL: p.Avatar, Status: p.Status}
}

func toVirtualAgent(p chat.Person) virtualAgentDTO {
	return virtualAgentDTO{ID: p.ID, Name: p.Name, Status: p.Status}
}

func toChat(v *chat.ChatView) chatDTO {
	d := chatDTO{ID: v.ID, UUID: v.UUID, Status: v.Status, StatusText: statusText[v.Status], Features: features,
		CreatedAt: api.Time(v.CreatedAt), EndsAt: api.TimePtr(v.EndedAt), TimeoutAt: api.TimePtr(v.TimeoutAt),
		AllAgents: []agentDTO{}, AllVirtualAgents: []virtualAgentDTO{}, Lang: v.Lang, Menus: []menuRefDTO{},
		EndUser:           endUserRefDTO{ID: v.EndUserID, Identifier: v.EndUserIdentifier},
		DeflectionChannel: v.DeflectionChannel, EscalationID: v.EscalationID, FinishedByUserID: v.FinishedByUserID}
	d.Context, d.CustomData = jsonObject(v.Context), jsonObject(v.CustomData)
	if v.Operator != nil {
		a := toAgent(*v.Operator)
		d.Agent = &a
	}
	if v.VirtualAgent != nil {
		a := toVirtualAgent(*v.VirtualAgent)
		d.VirtualAgent = &a
	}
	for _, p := range v.AllOperators {
		d.AllAgents = append(d.AllAgents, toAgent(p))
	}
	for _, p := range v.AllVirtualAgents {
		d.AllVirtualAgents = append(d.AllVirtualAgents, toVirtualAgent(p))
	}
	if v.Menu != nil {
		d.Menus = append(d.Menus, menuRefDTO{ID: v.Menu.ID, Name: v.Menu.Name})
	}
	return d
}

// jsonObject is a stored JSON object, {} when none is stored.
func jsonObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" || !json.Valid(raw) {
		return json.RawMessage("{}")
	}
	return raw
}

// typing tells the chat's watchers that the caller is typing: an ephemeral
// "typing" event on the realtime stream (docs/realtime.md), answered 204.
// An operator types as itself; other callers type as the end user unless
// they say {"sender_type": "operator"}.
func (h *Handler) typing(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		SenderType string `json:"sender_type"`
	}
	if _, err := api.DecodeOptional(r, &in); err != nil {
		return err
	}
	if in.SenderType == "" {
		in.SenderType = chat.SenderEndUser
	}
	if err := h.Chats.Typing(r.Context(), id, in.SenderType); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) writeChat(w http.ResponseWriter, r *http.Request, status int, id int64) error {
	v, err := h.Chats.ViewChat(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, toChat(v))
	return nil
}

// writeChanged answers the chat a change returned: the caller made it, so
// it is shown even if it left their sight (an operator who ended a chat of
// their queue).
func (h *Handler) writeChanged(w http.ResponseWriter, r *http.Request, status int, c *chat.Chat) error {
	vs, err := h.Chats.ViewChats(r.Context(), []*chat.Chat{c})
	if err != nil {
		return err
	}
	writeJSON(w, status, toChat(vs[0]))
	return nil
}

// transcriptTurn is one message of the transcript a chat may start with
// (the conversation so far, e.g. from a bot outside Parley).
type transcriptTurn struct {
	SenderType string `json:"sender_type"`
	Content    string `json:"content"`
}

// MaxTranscript bounds the turns a new chat may bring.
const MaxTranscript = 200

func (h *Handler) createChat(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Chat *struct {
			MenuID     api.Int         `json:"menu_id"`
			EndUserID  api.Int         `json:"end_user_id"`
			Lang       string          `json:"lang"`
			Email      string          `json:"email"`
			Context    json.RawMessage `json:"context"`
			Transcript json.RawMessage `json:"transcript"`
			// ProjectUUID (not in the seed) binds the chat to a live-chat
			// project, so that the gateway can address it too.
			ProjectUUID string `json:"project_uuid"`
		} `json:"chat"`
		EndUser *struct {
			Identifier string `json:"identifier"`
			Name       string `json:"name"`
			Email      string `json:"email"`
			Phone      string `json:"phone"`
		} `json:"end_user"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.Chat == nil {
		return parley.FieldError("chat", "is required")
	}
	var turns []transcriptTurn
	if t := in.Chat.Transcript; len(t) > 0 && string(t) != "null" {
		// The seed calls it an object: {"messages": [...]}; a bare array is
		// accepted too.
		var wrapped struct {
			Messages []transcriptTurn `json:"messages"`
		}
		if err := json.Unmarshal(t, &turns); err != nil {
			if err := json.Unmarshal(t, &wrapped); err != nil {
				return parley.FieldError("chat.transcript", `must be {"messages": [{"sender_type": "end_user", "content": "..."}]} or such an array`)
			}
			turns = wrapped.Messages
		}
		if len(turns) > MaxTranscript {
			return parley.FieldError("chat.transcript", "at most %d messages", MaxTranscript)
		}
		for i, tt := range turns {
			if tt.SenderType == "" {
				turns[i].SenderType = chat.SenderEndUser
			} else if !chat.ValidSender(tt.SenderType) {
				return parley.FieldError("chat.transcript", "sender_type must be end_user, operator, virtual_agent or system")
			}
			if strings.TrimSpace(tt.Content) == "" {
				return parley.FieldError("chat.transcript", "message %d has no content", i+1)
			}
		}
	}
	ctx := r.Context()
	if in.Chat.MenuID < 0 {
		return parley.FieldError("chat.menu_id", "must be a positive integer")
	}
	nc := chat.NewChat{EndUserID: int64(in.Chat.EndUserID), MenuID: int64(in.Chat.MenuID), Lang: in.Chat.Lang,
		Email: in.Chat.Email, Context: in.Chat.Context, Transcript: toTurns(turns)}
	if nc.EndUserID < 0 {
		return parley.FieldError("chat.end_user_id", "must be a positive integer")
	} else if nc.EndUserID == 0 {
		// No end user yet: the one with this identifier (phone, else email),
		// created when the company has none.
		if in.EndUser != nil {
			nc.EndUser = chat.NewEndUser{Identifier: in.EndUser.Identifier, Name: in.EndUser.Name, Email: in.EndUser.Email, Phone: in.EndUser.Phone}
		}
		if nc.EndUser.Identifier == "" {
			nc.EndUser.Identifier = nc.EndUser.Phone
		}
		if nc.EndUser.Identifier == "" {
			nc.EndUser.Identifier = in.Chat.Email
		}
		if nc.EndUser.Email == "" {
			nc.EndUser.Email = in.Chat.Email
		}
	}
	if in.Chat.ProjectUUID != "" {
		p, err := h.Chats.ProjectByUUID(ctx, in.Chat.ProjectUUID)
		if err != nil {
			return err
		}
		nc.ProjectID = p.ID
	}
	o, err := h.Chats.OpenChat(ctx, nc)
	if err != nil {
		return err
	}
	return h.writeChanged(w, r, http.StatusCreated, o.Chat)
}

func toTurns(ts []transcriptTurn) []chat.Turn {
	out := make([]chat.Turn, len(ts))
	for i, t := range ts {
		out[i] = chat.Turn{SenderType: t.SenderType, Content: t.Content}
	}
	return out
}

func (h *Handler) listChats(w http.ResponseWriter, r *http.Request) error {
	limit, err := api.QueryInt(r, "limit", 100, chat.MaxPage)
	if err != nil {
		return err
	}
	after, err := api.QueryID(r, "after_id")
	if err != nil {
		return err
	}
	menu, err := api.QueryID(r, "menu_id")
	if err != nil {
		return err
	}
	f := chat.ChatFilter{Status: r.URL.Query().Get("status"), MenuID: menu, AfterID: after, Limit: limit}
	cs, err := h.Chats.ListChats(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Chats  []chatDTO `json:"chats"`
		NextID *int64    `json:"next_after_id"`
	}{Chats: make([]chatDTO, 0, len(cs))}
	views, err := h.Chats.ViewChats(r.Context(), cs)
	if err != nil {
		return err
	}
	for _, v := range views {
		out.Chats = append(out.Chats, toChat(v))
	}
	if len(cs) > 0 && len(cs) == f.PageSize() {
		out.NextID = &cs[len(cs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getChat(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	return h.writeChat(w, r, http.StatusOK, id)
}

func (h *Handler) updateChat(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		FinishedByUserID *api.Int `json:"finished_by_user_id"`
		Chat             *struct {
			DeflectionChannel *string  `json:"deflection_channel"`
			Status            *string  `json:"status"`
			EscalationID      *api.Int `json:"escalation_id"`
		} `json:"chat"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	u := chat.ChatUpdate{}
	if in.FinishedByUserID != nil {
		v := int64(*in.FinishedByUserID)
		u.FinishedByUserID = &v
	}
	if in.Chat != nil {
		u.Status, u.DeflectionChannel = in.Chat.Status, in.Chat.DeflectionChannel
		if in.Chat.EscalationID != nil {
			v := int64(*in.Chat.EscalationID)
			u.EscalationID = &v
		}
	}
	c, err := h.Chats.UpdateChat(r.Context(), id, u)
	if err != nil {
		return err
	}
	return h.writeChanged(w, r, http.StatusOK, c)
}

func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		FromUserID *api.Int `json:"from_user_id"`
		Message    *struct {
			Type    string `json:"type"`
			Content string `json:"content"`
		} `json:"message"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.Message == nil {
		return parley.FieldError("message", "is required")
	}
	if in.Message.Type != "" && in.Message.Type != "text" {
		return parley.FieldError("message.type", "must be text (photos and videos go through /photos and /videos)")
	}
	// from_user_id names who writes: the chat's end user, or an operator
	// who may write in the chat (the chat domain resolves it); without it
	// the end user writes. An operator caller always writes as themself.
	sender, opt := chat.SenderEndUser, chat.PostOptions{}
	if _, ok, err := h.Chats.CallerOperatorID(r.Context()); err != nil {
		return err
	} else if ok {
		sender = chat.SenderOperator
	} else if in.FromUserID != nil {
		if *in.FromUserID <= 0 {
			return parley.FieldError("from_user_id", "must be a positive integer")
		}
		opt.FromUserID = int64(*in.FromUserID)
	}
	m, _, err := h.Chats.PostMessageWith(r.Context(), id, sender, in.Message.Content, opt)
	if err != nil {
		return err
	}
	// The seed answers {}; the stored message's id and seq help clients.
	writeJSON(w, http.StatusOK, map[string]any{"message_id": m.ID, "seq": m.Seq})
	return nil
}

type escalationDTO struct {
	ID                int64  `json:"id"`
	ChatID            int64  `json:"chat_id"`
	Status            string `json:"status"`
	Reason            string `json:"reason"`
	DeflectionChannel string `json:"deflection_channel"`
}

func toEscalation(e *chat.Escalation) escalationDTO {
	return escalationDTO{ID: e.ID, ChatID: e.ChatID, Status: e.Status, Reason: e.Reason, DeflectionChannel: e.DeflectionChannel}
}

func (h *Handler) createEscalation(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Reason        string `json:"reason"`
		ForceEscalate *bool  `json:"force_escalate"`
	}
	if _, err := api.DecodeOptional(r, &in); err != nil {
		return err
	}
	force := in.ForceEscalate != nil && *in.ForceEscalate
	e, err := h.Chats.Escalate(r.Context(), id, chat.EscalationInput{Reason: in.Reason, Force: force})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEscalation(e))
	return nil
}

func (h *Handler) updateEscalation(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	eid, err := api.PathID(r, "escalationId")
	if err != nil {
		return err
	}
	var in struct {
		DeflectionChannel *string `json:"deflection_channel"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.DeflectionChannel == nil {
		return parley.FieldError("deflection_channel", "is required")
	}
	e, err := h.Chats.UpdateEscalation(r.Context(), id, eid, *in.DeflectionChannel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toEscalation(e))
	return nil
}

type flagsDTO struct {
	VerifiedCustomer bool `json:"verified_customer"`
	BadActor         bool `json:"bad_actor"`
	RepeatCustomer   bool `json:"repeat_customer"`
}

func (h *Handler) getFlags(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := h.Chats.GetChat(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, flagsDTO(c.Flags))
	return nil
}

func (h *Handler) setFlags(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	// The seed's POST body says repeat_customers while its GET answer says
	// repeat_customer: both are accepted.
	var in struct {
		VerifiedCustomer *bool `json:"verified_customer"`
		BadActor         *bool `json:"bad_actor"`
		RepeatCustomer   *bool `json:"repeat_customer"`
		RepeatCustomers  *bool `json:"repeat_customers"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.RepeatCustomer != nil && in.RepeatCustomers != nil && *in.RepeatCustomer != *in.RepeatCustomers {
		return parley.FieldError("repeat_customers", "contradicts repeat_customer")
	}
	if in.RepeatCustomer == nil {
		in.RepeatCustomer = in.RepeatCustomers
	}
	if in.VerifiedCustomer == nil && in.BadActor == nil && in.RepeatCustomer == nil {
		return parley.Errorf(parley.EINVALID, "Nothing to change: give verified_customer, bad_actor or repeat_customer.")
	}
	f, err := h.Chats.SetFlags(r.Context(), id, chat.FlagsUpdate{VerifiedCustomer: in.VerifiedCustomer, BadActor: in.BadActor, RepeatCustomer: in.RepeatCustomer})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, flagsDTO(*f))
	return nil
}

func (h *Handler) customData(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Signed     bool                        `json:"signed"`
		Data       map[string]chat.CustomField `json:"data"`
		SignedData string                      `json:"signed_data"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	fields := in.Data
	if in.Signed {
		if in.SignedData == "" {
			return parley.FieldError("signed_data", "is required when signed is true")
		}
		if in.Data != nil {
			return parley.FieldError("data", "must not be given when signed is true: the fields travel inside signed_data")
		}
		if fields, err = h.Chats.SignedCustomData(r.Context(), in.SignedData); err != nil {
			return err
		}
	} else if in.SignedData != "" {
		return parley.FieldError("signed", "must be true when signed_data is given")
	}
	merged, err := h.Chats.SetCustomData(r.Context(), id, fields)
	if err != nil {
		return err
	}
	c, err := h.Chats.GetChat(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"custom_data": json.RawMessage(merged), "customer_flag": flagsDTO(c.Flags)})
	return nil
}

func (h *Handler) updateEndUser(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Identifier string  `json:"identifier"`
		Name       *string `json:"name"`
		Email      *string `json:"email"`
		Phone      *string `json:"phone"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Identifier) == "" {
		return parley.FieldError("identifier", "is required")
	}
	if err := h.Chats.UpdateChatEndUser(r.Context(), id, chat.EndUserUpdate{Identifier: in.Identifier, Name: in.Name, Email: in.Email, Phone: in.Phone}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "accepted"})
	return nil
}
