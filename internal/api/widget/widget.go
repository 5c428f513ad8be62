// Package widget is the HTTP adapter of the public chat widget API
// (/v1/widget/projects/{projectUuid}/...): what the end-user widget of a
// company's site calls without any staff login. A visitor starts (or
// resumes) a chat of the project and gets a widget token: an end-user
// stream token (internal/realtime) scoped to that one chat, which both
// this family and GET /v1/stream accept. docs/compatibility.md ("Chat
// widget") describes it.
package widget

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/ratelimit"
)

// Prefix is where the family is mounted.
const Prefix = "/v1/widget"

// Limits of the family.
const (
	BodyLimit = 16 << 10 // a message's 10,000 characters fit
	// ErrRateLimited is the error code of a request over its rate (429).
	ErrRateLimited = parley.ERATELIMITED
)

// Tokens issues and checks the chat-scoped end-user tokens (the realtime
// hub does both, so the stream takes the same token).
type Tokens interface {
	IssueEndUserToken(companyID, chatID int64) (string, time.Time, error)
	ParseEndUserToken(token string) (companyID, chatID int64, err error)
}

// Handler serves the widget API.
type Handler struct {
	Log    *slog.Logger
	Chats  *chat.Service
	Tokens Tokens
	// Uploads hands out and checks the chat's photos (its store may be nil:
	// photo routes then answer an internal error).
	Uploads *chat.Uploads

	// StartRate limits chat starts per client IP; PostRate limits the
	// posts (messages, typing, photos) of one chat's token. Zero values
	// take the defaults: 10 starts a minute (burst 10), 60 posts a minute
	// (burst 30).
	StartRate, PostRate ratelimit.Rate

	starts, posts *ratelimit.Buckets
}

// Route is one method of the family.
type Route struct {
	Method string
	Path   string // below Prefix
	handle func(h *Handler, w http.ResponseWriter, r *http.Request) error
	token  bool // needs the chat's widget token
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + Prefix + rt.Path }

const chatPath = "/projects/{projectUuid}/chats/{chatId}"

// Routes lists every method of the family.
func Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/projects/{projectUuid}/chats", handle: (*Handler).start},
		{Method: "GET", Path: chatPath, handle: (*Handler).getChat, token: true},
		{Method: "GET", Path: chatPath + "/messages", handle: (*Handler).listMessages, token: true},
		{Method: "POST", Path: chatPath + "/messages", handle: (*Handler).postMessage, token: true},
		{Method: "POST", Path: chatPath + "/typing", handle: (*Handler).typing, token: true},
		{Method: "POST", Path: chatPath + "/photos/upload", handle: (*Handler).uploadPhoto, token: true},
		{Method: "POST", Path: chatPath + "/photos", handle: (*Handler).attachPhoto, token: true},
	}
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Log == nil {
		h.Log = slog.Default()
	}
	h.starts = ratelimit.NewBuckets(h.StartRate.Or(ratelimit.Rate{PerMinute: 10, Burst: 10}))
	h.posts = ratelimit.NewBuckets(h.PostRate.Or(ratelimit.Rate{PerMinute: 60, Burst: 30}))
	var endpoints []api.Endpoint
	for _, rt := range Routes() {
		rt := rt
		next := api.WriteErrors(h.writeError, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Cache-Control", "no-store")
			if rt.token {
				ctx, err := h.authorize(r)
				if err != nil {
					return err
				}
				r = r.WithContext(ctx)
			}
			return rt.handle(h, w, r)
		})
		api.Route(mux, rt.Pattern(), api.LimitBody(BodyLimit, next))
		endpoints = append(endpoints, api.Endpoint{Method: rt.Method, Path: Prefix + rt.Path})
	}
	api.Fallback(mux, Prefix+"/", "widget API", endpoints, h.writeError)
}

// ---- errors: the v1 shape ----

type errorBody struct {
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, requestID := api.NoteError(h.Log, r, err)
	status := api.HTTPStatus(code)
	switch code {
	case ErrRateLimited:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "10")
	case parley.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley-widget"`)
	}
	api.WriteJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: parley.ErrorMessage(err),
		Fields: parley.ErrorFields(err)}, RequestID: requestID})
}

// ---- who is calling ----

type chatKey struct{}

// authorize checks the widget token against the path: the token's chat
// must be the chat named, of the project named. Another chat's token is
// 403, whatever chat it names.
func (h *Handler) authorize(r *http.Request) (context.Context, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "A widget token is required: Authorization: Bearer <token>.")
	}
	cid, chatID, err := h.Tokens.ParseEndUserToken(strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("chatId"), 10, 64)
	if err != nil || id <= 0 {
		return nil, parley.FieldError("chatId", "must be a positive integer")
	}
	if id != chatID {
		return nil, parley.Errorf(parley.EFORBIDDEN, "This token is for another chat.")
	}
	ctx := parley.WithCaller(r.Context(), parley.Caller{CompanyID: cid, Role: "end_user"})
	p, err := h.project(r)
	if err != nil {
		return nil, err
	}
	c, err := h.Chats.GetChat(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.CompanyID != cid || c.ProjectID == nil || *c.ProjectID != p.ID {
		return nil, parley.Errorf(parley.EFORBIDDEN, "This token is for another chat.")
	}
	api.Info(ctx).CompanyID = cid
	return context.WithValue(ctx, chatKey{}, c), nil
}

func chatOf(ctx context.Context) *chat.Chat { c, _ := ctx.Value(chatKey{}).(*chat.Chat); return c }

func (h *Handler) project(r *http.Request) (*chat.Project, error) {
	id := r.PathValue("projectUuid")
	if _, err := uuid.Parse(id); err != nil {
		return nil, parley.FieldError("projectUuid", "must be a UUID")
	}
	return h.Chats.ProjectByPublicUUID(r.Context(), id)
}

func (h *Handler) limitPost(r *http.Request) error {
	if !h.posts.Allow("chat:" + strconv.FormatInt(chatOf(r.Context()).ID, 10)) {
		return parley.Errorf(ErrRateLimited, "Too many messages; wait a moment.")
	}
	return nil
}

// ---- methods ----

// visitorID is what the widget generates and keeps: 16 to 64 characters of
// letters, digits, "-" and "_".
var visitorID = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

type sessionDTO struct {
	ChatID    int64  `json:"chat_id"`
	ChatUUID  string `json:"chat_uuid"`
	Status    string `json:"status"`
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	Resumed   bool   `json:"resumed"`
}

// start finds the visitor's live chat of the project or opens one, and
// answers a fresh widget token for it: 201 for a new chat, 200 for the
// live one resumed.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) error {
	if !h.starts.Allow("ip:" + ratelimit.ClientKey(r)) {
		return parley.Errorf(ErrRateLimited, "Too many chats started from this address; wait a minute.")
	}
	p, err := h.project(r)
	if err != nil {
		return err
	}
	var in struct {
		VisitorID string `json:"visitor_id"`
		Name      string `json:"name"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if !visitorID.MatchString(in.VisitorID) {
		return parley.FieldError("visitor_id", "must be 16 to 64 letters, digits, - or _")
	}
	ctx := parley.WithCaller(r.Context(), parley.Caller{CompanyID: p.CompanyID, Role: "end_user"})
	api.Info(ctx).CompanyID = p.CompanyID
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "Website visitor"
	}
	u, err := h.Chats.FindOrCreateEndUser(ctx, chat.NewEndUser{Identifier: "widget:" + in.VisitorID, Name: name})
	if err != nil {
		return err
	}
	c, err := h.Chats.LiveChatOf(ctx, p.ID, u.ID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if c == nil {
		nc := chat.NewChat{EndUserID: u.ID, ProjectID: p.ID, Context: []byte(`{"channel":"widget"}`)}
		if p.MenuID != nil {
			nc.MenuID = *p.MenuID
		}
		if c, err = h.Chats.OpenChat(ctx, nc); err != nil {
			return err
		}
		status = http.StatusCreated
	}
	token, exp, err := h.Tokens.IssueEndUserToken(p.CompanyID, c.ID)
	if err != nil {
		return err
	}
	api.WriteJSON(w, status, sessionDTO{ChatID: c.ID, ChatUUID: c.UUID, Status: c.Status, Token: token,
		ExpiresAt: exp.UTC().Format(timeFormat), Resumed: status == http.StatusOK})
	return nil
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"

type operatorDTO struct {
	Name string `json:"name"`
}

type chatDTO struct {
	ChatID   int64        `json:"chat_id"`
	ChatUUID string       `json:"chat_uuid"`
	Status   string       `json:"status"`
	Operator *operatorDTO `json:"operator"`
}

// getChat answers the chat's status and the operator serving it (first
// name only: the end user sees no staff details).
func (h *Handler) getChat(w http.ResponseWriter, r *http.Request) error {
	v, err := h.Chats.ViewChat(r.Context(), chatOf(r.Context()).ID)
	if err != nil {
		return err
	}
	out := chatDTO{ChatID: v.ID, ChatUUID: v.UUID, Status: v.Status}
	if v.Operator != nil {
		out.Operator = &operatorDTO{Name: firstName(v.Operator)}
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func firstName(p *chat.Person) string {
	if p.FirstName != "" {
		return p.FirstName
	}
	first, _, _ := strings.Cut(p.Name, " ")
	return first
}

type messageDTO struct {
	MessageID  int64  `json:"message_id"`
	Seq        int    `json:"seq"`
	SenderType string `json:"sender_type"`
	Type       string `json:"type"`
	Content    string `json:"content,omitempty"`
	URL        string `json:"url,omitempty"`
	CreatedAt  string `json:"created_at"`
}

// listMessages answers the chat's messages after after_seq (default 0),
// oldest first, up to limit (default and maximum 1000); photos and videos
// carry a signed URL instead of their storage key.
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) error {
	after, err := api.QueryInt(r, "after_seq", 0, 1<<31-1)
	if err != nil {
		return err
	}
	limit, err := api.QueryInt(r, "limit", chat.MaxPage, chat.MaxPage)
	if err != nil {
		return err
	}
	ms, err := h.Chats.ListMessages(r.Context(), chatOf(r.Context()).ID, after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Messages []messageDTO `json:"messages"`
	}{Messages: make([]messageDTO, 0, len(ms))}
	for _, m := range ms {
		if m.SenderType == chat.SenderSystem {
			continue
		}
		d := messageDTO{MessageID: m.ID, Seq: m.Seq, SenderType: m.SenderType, Type: m.Type,
			CreatedAt: m.CreatedAt.UTC().Format(timeFormat)}
		if m.Type == chat.MediaPhoto || m.Type == chat.MediaVideo {
			if h.Uploads.Store != nil {
				if d.URL, err = h.Uploads.URL(r.Context(), m.Content); err != nil {
					return err
				}
			}
		} else {
			d.Content = m.Content
		}
		out.Messages = append(out.Messages, d)
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

// postMessage posts {"text"} as the end user: 201 {"message_id", "seq"}.
func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Text) == "" {
		return parley.FieldError("text", "is required")
	}
	m, err := h.Chats.PostMessage(r.Context(), chatOf(r.Context()).ID, chat.SenderEndUser, in.Text)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"message_id": m.ID, "seq": m.Seq})
	return nil
}

// typing publishes the end user's typing event (204).
func (h *Handler) typing(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	if err := h.Chats.Typing(r.Context(), chatOf(r.Context()).ID, chat.SenderEndUser); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// uploadPhoto answers a presigned POST form ({"url", "fields"}) for one
// image of at most 10 MiB under the chat's photo prefix.
func (h *Handler) uploadPhoto(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	form, err := h.Uploads.Form(r.Context(), chatOf(r.Context()).ID, chat.MediaPhoto)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, form)
	return nil
}

// attachPhoto attaches an uploaded key ({"key"}) as the end user's photo
// message: {"media_id", "url"}.
func (h *Handler) attachPhoto(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	c := chatOf(r.Context())
	var in struct {
		Key string `json:"key"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	as, err := h.Uploads.Attach(r.Context(), c.ID, chat.MediaPhoto, "key", []string{in.Key}, []string{""}, chat.SenderEndUser)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"media_id": as[0].ID, "url": as[0].URL})
	return nil
}
