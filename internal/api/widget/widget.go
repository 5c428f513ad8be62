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
type Route = api.RouteSpec[Handler]

// family is how the widget API is mounted: no staff login; every route but
// the chat start needs the chat's widget token, and no answer is cached.
var family = &api.Family[Handler]{Name: "widget API", Prefix: Prefix, BodyLimit: BodyLimit,
	Auth: (*Handler).requireToken, Fail: (*Handler).writeError,
	Wrap: func(_ *Handler, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			next.ServeHTTP(w, r)
		})
	}}

const chatPath = "/projects/{projectUuid}/chats/{chatId}"

// Routes lists every method of the family.
func Routes() []Route {
	return family.Routes([]Route{
		{Method: "POST", Path: "/projects/{projectUuid}/chats", Public: true, Handle: (*Handler).start},
		{Method: "GET", Path: chatPath, Handle: (*Handler).getChat},
		{Method: "GET", Path: chatPath + "/messages", Handle: (*Handler).listMessages},
		{Method: "POST", Path: chatPath + "/messages", Handle: (*Handler).postMessage},
		{Method: "POST", Path: chatPath + "/typing", Handle: (*Handler).typing},
		{Method: "POST", Path: chatPath + "/photos/upload", Handle: (*Handler).uploadPhoto},
		{Method: "POST", Path: chatPath + "/photos", Handle: (*Handler).attachPhoto},
		{Method: "POST", Path: chatPath + "/rating", Handle: (*Handler).rate},
		{Method: "POST", Path: chatPath + "/end", Handle: (*Handler).end},
	})
}

// Register mounts every route on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Log == nil {
		h.Log = slog.Default()
	}
	h.starts = ratelimit.NewBuckets(h.StartRate.Or(ratelimit.Rate{PerMinute: 10, Burst: 10}))
	h.posts = ratelimit.NewBuckets(h.PostRate.Or(ratelimit.Rate{PerMinute: 60, Burst: 30}))
	family.Register(mux, h, Routes())
}

// ---- errors: the v1 shape, plus 429 ----

var errorFormat = api.ErrorFormat{
	Status: func(code string) int {
		if code == ErrRateLimited {
			return http.StatusTooManyRequests
		}
		return api.HTTPStatus(code)
	},
	Body: api.NestedErrorBody,
	Header: func(h http.Header, p api.Problem) {
		switch p.Code {
		case ErrRateLimited:
			h.Set("Retry-After", "10")
		case parley.EUNAUTHORIZED:
			h.Set("WWW-Authenticate", `Bearer realm="parley-widget"`)
		}
	},
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	errorFormat.Write(h.Log, w, r, err)
}

// ---- who is calling ----

type chatKey struct{}

// requireToken admits a request only with the widget token of the chat it
// names (authorize).
func (h *Handler) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := h.authorize(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

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
	id, err := api.PathID(r, "chatId")
	if err != nil {
		return nil, err
	}
	if id != chatID {
		return nil, parley.Errorf(parley.EFORBIDDEN, "This token is for another chat.")
	}
	ctx := visitor(r.Context(), cid)
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
	return context.WithValue(ctx, chatKey{}, c), nil
}

// visitor is the context of a site visitor's request to a company: the
// company is the tenant, the caller an end user.
func visitor(ctx context.Context, companyID int64) context.Context {
	api.Info(ctx).CompanyID = companyID
	return parley.WithCaller(ctx, parley.Caller{CompanyID: companyID, Role: parley.RoleEndUser})
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
	// MessageID and Seq are the first message's, when the start carried
	// one.
	MessageID *int64 `json:"message_id"`
	Seq       *int   `json:"seq"`
}

// start finds the visitor's live chat of the project or opens one, and
// answers a fresh widget token for it: 201 for a new chat, 200 for the
// live one resumed. With "text" the visitor's first message is posted in
// the chat in the same transaction (the widget opens no chat before the
// visitor writes); with "resume_only" nothing is opened: no live chat is
// 404.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) error {
	if !h.starts.Allow("ip:" + ratelimit.ClientKey(r)) {
		return parley.Errorf(ErrRateLimited, "Too many chats started from this address; wait a minute.")
	}
	p, err := h.project(r)
	if err != nil {
		return err
	}
	var in struct {
		VisitorID  string `json:"visitor_id"`
		Name       string `json:"name"`
		Text       string `json:"text"`
		ResumeOnly bool   `json:"resume_only"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ResumeOnly && in.Text != "" {
		return parley.FieldError("resume_only", "cannot go with text: a start with text opens the chat")
	}
	if in.Text != "" && strings.TrimSpace(in.Text) == "" {
		return parley.FieldError("text", "must not be blank")
	}
	if !visitorID.MatchString(in.VisitorID) {
		return parley.FieldError("visitor_id", "must be 16 to 64 letters, digits, - or _")
	}
	ctx := visitor(r.Context(), p.CompanyID)
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "Website visitor"
	}
	o, err := h.Chats.OpenChat(ctx, chat.NewChat{EndUser: chat.NewEndUser{Identifier: "widget:" + in.VisitorID, Name: name},
		ProjectID: p.ID, Context: []byte(`{"channel":"widget"}`), Resume: true, ResumeOnly: in.ResumeOnly, FirstMessage: in.Text})
	if err != nil {
		return err
	}
	c, status := o.Chat, http.StatusCreated
	if o.Resumed {
		status = http.StatusOK
	}
	token, exp, err := h.Tokens.IssueEndUserToken(p.CompanyID, c.ID)
	if err != nil {
		return err
	}
	out := sessionDTO{ChatID: c.ID, ChatUUID: c.UUID, Status: c.Status, Token: token,
		ExpiresAt: api.Time(exp), Resumed: status == http.StatusOK}
	if o.First != nil {
		out.MessageID, out.Seq = &o.First.ID, &o.First.Seq
	}
	api.WriteJSON(w, status, out)
	return nil
}

type operatorDTO struct {
	Name string `json:"name"`
}

type chatDTO struct {
	ChatID   int64        `json:"chat_id"`
	ChatUUID string       `json:"chat_uuid"`
	Status   string       `json:"status"`
	Operator *operatorDTO `json:"operator"`
	// Rating is the end user's rating once given (ratings.go); null
	// before.
	Rating *ratingDTO `json:"rating"`
}

type ratingDTO struct {
	Rating    int    `json:"rating"`
	Comment   string `json:"comment"`
	CreatedAt string `json:"created_at"`
}

func toRating(r *chat.Rating) *ratingDTO {
	if r == nil {
		return nil
	}
	return &ratingDTO{Rating: r.Rating, Comment: r.Comment, CreatedAt: api.Time(r.CreatedAt)}
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
	if chat.Final(v.Status) {
		rt, err := h.Chats.ChatRating(r.Context(), v.ID)
		if err != nil {
			return err
		}
		out.Rating = toRating(rt)
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

// rate stores the end user's rating of their ended chat, {"rating": 1-5,
// "comment"}: 201 the first time, 200 for the same rating again (a retry),
// 409 for another rating or a chat that has not ended.
func (h *Handler) rate(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	var in struct {
		Rating  *int   `json:"rating"`
		Comment string `json:"comment"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Rating == nil {
		return parley.FieldError("rating", "is required (1 to 5)")
	}
	rt, created, err := h.Chats.RateChat(r.Context(), chatOf(r.Context()).ID, *in.Rating, in.Comment)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, toRating(rt))
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
	for _, m := range ms { // the chat domain leaves out what the end user does not see
		d := messageDTO{MessageID: m.ID, Seq: m.Seq, SenderType: m.SenderType, Type: m.Type,
			CreatedAt: api.Time(m.CreatedAt)}
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
	if err := decode(r, &in); err != nil {
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
// image of at most 10 MiB under the chat's photo prefix; the optional body
// {"content_type": "image/png"} names its type (default image/jpeg).
func (h *Handler) uploadPhoto(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	var in struct {
		ContentType string `json:"content_type"`
	}
	if _, err := api.DecodeOptional(r, &in); err != nil {
		return err
	}
	form, err := h.Uploads.Form(r.Context(), chatOf(r.Context()).ID, chat.MediaPhoto, in.ContentType)
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
	if err := decode(r, &in); err != nil {
		return err
	}
	as, err := h.Uploads.Attach(r.Context(), c.ID, chat.MediaPhoto, "key", []string{in.Key}, []string{""}, chat.SenderEndUser)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusCreated, map[string]any{"media_id": as[0].ID, "url": as[0].URL})
	return nil
}

// end ends the chat as its end user ("End chat" in the widget): 204, 409
// once it has ended. The widget then asks for a rating.
func (h *Handler) end(w http.ResponseWriter, r *http.Request) error {
	if err := h.limitPost(r); err != nil {
		return err
	}
	if err := h.Chats.EndByEndUser(r.Context(), chatOf(r.Context()).ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
