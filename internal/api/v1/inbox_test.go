package v1_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

type inboxResp struct {
	Chats []struct {
		ChatID      int64  `json:"chat_id"`
		Status      string `json:"status"`
		ClientName  string `json:"client_name"`
		LastMessage *struct {
			Content    string `json:"content"`
			SenderType string `json:"sender_type"`
		} `json:"last_message"`
		WaitingSince *string  `json:"waiting_since"`
		Unread       int      `json:"unread"`
		Labels       []string `json:"labels"`
	} `json:"chats"`
	NextCursor *int64 `json:"next_cursor"`
}

func (r inboxResp) ids() []int64 {
	var out []int64
	for _, c := range r.Chats {
		out = append(out, c.ChatID)
	}
	slices.Sort(out)
	return out
}

// inboxWorld is a company with two operator users, a menu each can serve,
// and chats: mine (taken by the first operator, answered, then two client
// messages), theirs (taken by the colleague), queued (nobody's yet).
type inboxWorld struct {
	env                        *testenv.Env
	tn                         *testenv.Tenant
	colleague                  string // the second operator user's token
	me, other                  int64  // their operator ids
	client                     int64
	mine, theirs, queued, menu int64
}

func newInboxWorld(t *testing.T, env *testenv.Env, name string) *inboxWorld {
	t.Helper()
	w := &inboxWorld{env: env, tn: env.NewTenant(t, name)}
	if _, err := env.Users.CreateUser(context.Background(), w.tn.CompanyID, name+"-colleague", w.tn.Password, parley.RoleOperator); err != nil {
		t.Fatal(err)
	}
	w.colleague, _ = env.Login(t, name+"-colleague", w.tn.Password)
	var op struct {
		OperatorID int64 `json:"operator_id"`
	}
	mustStatus(t, env.Do(t, "GET", "/v1/operators/me", w.tn.OperatorToken, nil), 200).JSON(t, &op)
	w.me = op.OperatorID
	mustStatus(t, env.Do(t, "GET", "/v1/operators/me", w.colleague, nil), 200).JSON(t, &op)
	w.other = op.OperatorID
	var c struct {
		ClientID int64 `json:"client_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/clients", w.tn.Token, map[string]any{"name": name + " Ivanova"}), 201).JSON(t, &c)
	w.client = c.ClientID
	var m struct {
		ID int64 `json:"id"`
	}
	mustStatus(t, env.Do(t, "POST", "/apps/api/v1/menus", w.tn.Token, map[string]any{"name": "Billing"}), 201).JSON(t, &m)
	w.menu = m.ID
	newChat := func() int64 {
		var ch struct {
			ChatID int64 `json:"chat_id"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/chats", w.tn.Token, map[string]any{"client_id": w.client}), 201).JSON(t, &ch)
		return ch.ChatID
	}
	post := func(chat int64, token, sender, text string) {
		body := map[string]any{"content": text}
		if sender != "" {
			body["sender_type"] = sender
		}
		mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", chat), token, body), 201)
	}
	w.mine, w.theirs, w.queued = newChat(), newChat(), newChat()
	post(w.mine, w.tn.Token, "client", "my parcel is lost")
	post(w.mine, w.tn.OperatorToken, "", "let me look")
	post(w.mine, w.tn.Token, "client", "the tracking number is zebra42")
	post(w.mine, w.tn.Token, "client", "please hurry")
	post(w.theirs, w.tn.Token, "client", "a refund for the blue kettle")
	post(w.theirs, w.colleague, "", "refund done")
	post(w.queued, w.tn.Token, "client", "is anyone there")
	return w
}

func (w *inboxWorld) inbox(t *testing.T, token, query string) inboxResp {
	t.Helper()
	var r inboxResp
	mustStatus(t, w.env.Do(t, "GET", "/v1/inbox?"+query, token, nil), 200).JSON(t, &r)
	return r
}

// TestInboxListAndSight: the list items carry the client's name, the last
// message, the waiting time, per-operator unread counts and labels; each
// view holds exactly what the caller's sight takes in.
func TestInboxListAndSight(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		w := newInboxWorld(t, env, "Acme")
		other := newInboxWorld(t, env, "Other")
		op, admin := w.tn.OperatorToken, w.tn.Token

		for _, c := range []struct {
			token, query string
			want         []int64
		}{
			{op, "view=all", []int64{w.mine, w.queued}},
			{op, "view=mine", []int64{w.mine}},
			{op, "view=queue", []int64{w.queued}},
			{w.colleague, "view=all", []int64{w.theirs, w.queued}},
			{admin, "view=all", []int64{w.mine, w.theirs, w.queued}},
			{admin, "view=queue", []int64{w.queued}},
			{op, "client_id=" + fmt.Sprint(w.client), []int64{w.mine, w.queued}},
			{admin, "client_id=" + fmt.Sprint(w.client), []int64{w.mine, w.theirs, w.queued}},
			{other.tn.Token, "client_id=" + fmt.Sprint(w.client), nil}, // another company's client: nothing
			{admin, "view=all&menu_id=" + fmt.Sprint(w.menu), nil},
		} {
			if got := w.inbox(t, c.token, c.query).ids(); !slices.Equal(got, c.want) {
				t.Errorf("inbox %s: chats %v, want %v", c.query, got, c.want)
			}
		}
		if r := env.Do(t, "GET", "/v1/inbox?view=mine", admin, nil); r.Status != 400 {
			t.Errorf("view=mine for an admin: %d %s", r.Status, r.Body)
		}

		// The list item of my chat.
		mine := w.inbox(t, op, "view=mine").Chats[0]
		if mine.ClientName != "Acme Ivanova" || mine.LastMessage == nil || mine.LastMessage.Content != "please hurry" ||
			mine.LastMessage.SenderType != "client" || mine.Unread != 3 || mine.WaitingSince == nil || mine.Status != "assigned" {
			t.Errorf("my chat's item: %+v", mine)
		}
		// Unread is per operator: I read up to seq 4; the colleague's own
		// counts are theirs.
		var rd struct {
			ReadSeq int `json:"read_seq"`
		}
		mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/read", w.mine), op, map[string]any{"seq": 99}), 200).JSON(t, &rd)
		if rd.ReadSeq != 4 {
			t.Errorf("read marker past the last message: stored %d, want 4", rd.ReadSeq)
		}
		mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/read", w.mine), op, map[string]any{"seq": 1}), 200).JSON(t, &rd)
		if rd.ReadSeq != 4 {
			t.Errorf("a read marker moved back to %d", rd.ReadSeq)
		}
		if it := w.inbox(t, op, "view=mine").Chats[0]; it.Unread != 0 {
			t.Errorf("unread after reading: %d", it.Unread)
		}
		if it := w.inbox(t, w.colleague, "view=queue").Chats[0]; it.Unread != 1 || it.ClientName != "Acme Ivanova" {
			t.Errorf("the colleague's queue item: %+v", it)
		}
		// Read markers: out of sight and for staff are 403, another
		// company's chat 404.
		for _, c := range []struct {
			token string
			chat  int64
			want  int
		}{{w.colleague, w.mine, 403}, {admin, w.mine, 403}, {other.tn.OperatorToken, w.mine, 404}} {
			if r := env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/read", c.chat), c.token, map[string]any{"seq": 1}); r.Status != c.want {
				t.Errorf("read marker: %d, want %d: %s", r.Status, c.want, r.Body)
			}
		}

		// Labels filter, and the colleague cannot label my chat.
		var lr struct {
			Labels []string `json:"labels"`
		}
		mustStatus(t, env.Do(t, "PUT", fmt.Sprintf("/v1/chats/%d/labels", w.mine), op, map[string]any{"labels": []string{"VIP", " billing ", "vip"}}), 200).JSON(t, &lr)
		if !slices.Equal(lr.Labels, []string{"billing", "vip"}) {
			t.Errorf("labels %v", lr.Labels)
		}
		if got := w.inbox(t, admin, "view=all&label=VIP").ids(); !slices.Equal(got, []int64{w.mine}) {
			t.Errorf("label filter: %v", got)
		}
		if it := w.inbox(t, op, "view=mine").Chats[0]; !slices.Equal(it.Labels, []string{"billing", "vip"}) {
			t.Errorf("item labels %v", it.Labels)
		}
		if r := env.Do(t, "PUT", fmt.Sprintf("/v1/chats/%d/labels", w.mine), w.colleague, map[string]any{"labels": []string{"x"}}); r.Status != 403 {
			t.Errorf("labelling a colleague's chat: %d", r.Status)
		}
		if r := env.Do(t, "PUT", fmt.Sprintf("/v1/chats/%d/labels", w.mine), op, map[string]any{"labels": []string{"a,b"}}); r.Status != 400 {
			t.Errorf("a label with a comma: %d", r.Status)
		}
		var ll struct {
			Labels []struct {
				Label string `json:"label"`
				Chats int    `json:"chats"`
			} `json:"labels"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/labels", other.tn.Token, nil), 200).JSON(t, &ll)
		if len(ll.Labels) != 0 {
			t.Errorf("another company sees labels %+v", ll.Labels)
		}

		// Closed chats: mine once finished is in my closed view, not the
		// colleague's; newest first with a cursor.
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", w.mine), op, map[string]any{"status": "closed"}), 200)
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", w.theirs), w.colleague, map[string]any{"status": "closed"}), 200)
		if got := w.inbox(t, op, "view=closed").ids(); !slices.Equal(got, []int64{w.mine}) {
			t.Errorf("my closed chats: %v", got)
		}
		page := w.inbox(t, admin, "view=closed&limit=1")
		if len(page.Chats) != 1 || page.Chats[0].ChatID != w.theirs || page.NextCursor == nil {
			t.Fatalf("closed page 1: %+v", page)
		}
		page = w.inbox(t, admin, "view=closed&limit=1&cursor="+fmt.Sprint(*page.NextCursor))
		if len(page.Chats) != 1 || page.Chats[0].ChatID != w.mine {
			t.Errorf("closed page 2: %+v", page)
		}
		for _, q := range []string{"view=lost", "sort=best", "sort=waiting&cursor=5", "limit=5000", "menu_id=x", "label=a%2Cb"} {
			if r := env.Do(t, "GET", "/v1/inbox?"+q, admin, nil); r.Status != 400 {
				t.Errorf("inbox %s: %d", q, r.Status)
			}
		}
	})
}

// TestInboxFiveHundred: 500 open chats come in one call, each with its
// client's name and last message.
func TestInboxFiveHundred(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Busy")
		for i := range 500 {
			var c struct {
				ClientID int64 `json:"client_id"`
			}
			mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": fmt.Sprintf("Client %d", i)}), 201).JSON(t, &c)
			var ch struct {
				ChatID int64 `json:"chat_id"`
			}
			mustStatus(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": c.ClientID}), 201).JSON(t, &ch)
			mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", ch.ChatID), tn.Token, map[string]any{"sender_type": "client", "content": fmt.Sprintf("hello %d", i)}), 201)
		}
		var r inboxResp
		mustStatus(t, env.Do(t, "GET", "/v1/inbox?view=queue&limit=1000", tn.OperatorToken, nil), 200).JSON(t, &r)
		if len(r.Chats) != 500 {
			t.Fatalf("%d chats in the queue, want 500", len(r.Chats))
		}
		for i, c := range r.Chats {
			// Waiting order: the first queued is the first listed.
			if c.ClientName != fmt.Sprintf("Client %d", i) || c.LastMessage == nil || c.LastMessage.Content != fmt.Sprintf("hello %d", i) || c.Unread != 1 {
				t.Fatalf("item %d: %+v", i, c)
			}
		}
	})
}

type searchResp struct {
	Messages []struct {
		MessageID  int64  `json:"message_id"`
		ChatID     int64  `json:"chat_id"`
		Content    string `json:"content"`
		ChatStatus string `json:"chat_status"`
		ClientName string `json:"client_name"`
	} `json:"messages"`
	NextBeforeID *int64 `json:"next_before_id"`
}

// TestSearchMessages: whole words, case folded, any order; ended chats
// included; scoped to the company and the operator's sight; paged.
func TestSearchMessages(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		w := newInboxWorld(t, env, "Acme")
		other := newInboxWorld(t, env, "Other")
		search := func(token, q string) searchResp {
			t.Helper()
			var r searchResp
			mustStatus(t, env.Do(t, "GET", "/v1/messages/search?q="+url.QueryEscape(q), token, nil), 200).JSON(t, &r)
			return r
		}
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", w.mine), w.tn.OperatorToken, map[string]any{"status": "closed"}), 200)
		r := search(w.tn.OperatorToken, "ZEBRA42 tracking")
		if len(r.Messages) != 1 || r.Messages[0].ChatID != w.mine || r.Messages[0].ChatStatus != "closed" || r.Messages[0].ClientName != "Acme Ivanova" {
			t.Errorf("my closed chat's message: %+v", r)
		}
		// The colleague's chat is out of my sight; the admin sees it;
		// another company finds none of these.
		if r := search(w.tn.OperatorToken, "blue kettle"); len(r.Messages) != 0 {
			t.Errorf("an operator found a colleague's message: %+v", r)
		}
		if r := search(w.tn.Token, "kettle refund"); len(r.Messages) != 1 || r.Messages[0].ChatID != w.theirs {
			t.Errorf("the admin's search: %+v", r)
		}
		if r := search(w.colleague, "zebra42"); len(r.Messages) != 0 {
			t.Errorf("the colleague found my message: %+v", r)
		}
		// The queue of my menus is in sight.
		if r := search(w.tn.OperatorToken, "anyone"); len(r.Messages) != 1 || r.Messages[0].ChatID != w.queued {
			t.Errorf("a queued chat's message: %+v", r)
		}
		for _, q := range []string{"zebra42", "kettle", "anyone"} {
			if r := search(other.tn.Token, q); len(r.Messages) != 1 || r.Messages[0].ChatID == w.mine || r.Messages[0].ChatID == w.theirs || r.Messages[0].ChatID == w.queued {
				t.Errorf("another company's search for %q: %+v", q, r)
			}
		}
		// Partial words do not match; query syntax is only separators.
		for _, q := range []string{"zebr", `"zebra42" OR kettle`, "kettle*"} {
			r := search(w.tn.Token, q)
			if q == "kettle*" && len(r.Messages) != 1 {
				t.Errorf("%q: %+v", q, r)
			} else if q != "kettle*" && len(r.Messages) != 0 {
				t.Errorf("%q matched %+v", q, r)
			}
		}
		// Paging, newest first.
		r = search(w.tn.Token, "acme")
		_ = r
		var p1, p2 searchResp
		mustStatus(t, env.Do(t, "GET", "/v1/messages/search?limit=1&q=the", w.tn.Token, nil), 200).JSON(t, &p1)
		if len(p1.Messages) != 1 || p1.NextBeforeID == nil {
			t.Fatalf("page 1: %+v", p1)
		}
		mustStatus(t, env.Do(t, "GET", fmt.Sprintf("/v1/messages/search?limit=1&q=the&before_id=%d", *p1.NextBeforeID), w.tn.Token, nil), 200).JSON(t, &p2)
		if len(p2.Messages) != 1 || p2.Messages[0].MessageID >= p1.Messages[0].MessageID {
			t.Errorf("page 2: %+v after %+v", p2, p1)
		}
		// PostgreSQL's two passes (store.MessageSearch) find the same:
		// with a window of 2 messages, most are in the second pass. An
		// operator's search above went chat by chat (their sight holds
		// few messages); from here on it takes the two passes too, and
		// finds what it found that way.
		defer func(w int, n int64) { store.SearchWindow, store.SearchSightMessages = w, n }(store.SearchWindow, store.SearchSightMessages)
		opQueries := []string{"the", "ZEBRA42 tracking", "anyone", "blue kettle", "kettle", "acme", "is"}
		// pages walks an operator's search for q a message at a time.
		pages := func(q string) []int64 {
			var ids []int64
			before := ""
			for range 10 {
				var p searchResp
				mustStatus(t, env.Do(t, "GET", "/v1/messages/search?limit=1&q="+q+before, w.tn.OperatorToken, nil), 200).JSON(t, &p)
				for _, m := range p.Messages {
					ids = append(ids, m.MessageID)
				}
				if p.NextBeforeID == nil {
					break
				}
				before = fmt.Sprintf("&before_id=%d", *p.NextBeforeID)
			}
			return ids
		}
		narrow := map[string]string{}
		for _, q := range opQueries {
			narrow[q] = fmt.Sprint(search(w.tn.OperatorToken, q))
		}
		narrowPages := pages("is")
		if len(narrowPages) < 3 {
			t.Errorf("an operator's pages of \"is\": %v, want 3 messages", narrowPages)
		}
		store.SearchWindow, store.SearchSightMessages = 2, -1
		for _, q := range opQueries {
			if r := fmt.Sprint(search(w.tn.OperatorToken, q)); r != narrow[q] {
				t.Errorf("an operator's %q: two passes found %s, chat by chat %s", q, r, narrow[q])
			}
		}
		if p := pages("is"); fmt.Sprint(p) != fmt.Sprint(narrowPages) {
			t.Errorf("an operator's pages of \"is\": two passes %v, chat by chat %v", p, narrowPages)
		}
		var all1, all2 searchResp
		mustStatus(t, env.Do(t, "GET", "/v1/messages/search?limit=100&q=the", w.tn.Token, nil), 200).JSON(t, &all1)
		store.SearchWindow = 1 << 30
		mustStatus(t, env.Do(t, "GET", "/v1/messages/search?limit=100&q=the", w.tn.Token, nil), 200).JSON(t, &all2)
		store.SearchWindow = 2
		if fmt.Sprint(all1) != fmt.Sprint(all2) || len(all1.Messages) < 2 {
			t.Errorf("two passes found %+v, one pass %+v", all1, all2)
		}
		if r := search(w.tn.OperatorToken, "ZEBRA42 tracking"); len(r.Messages) != 1 || r.Messages[0].ChatID != w.mine {
			t.Errorf("two passes, my closed chat's message: %+v", r)
		}
		if r := search(w.tn.OperatorToken, "blue kettle"); len(r.Messages) != 0 {
			t.Errorf("two passes: an operator found a colleague's message: %+v", r)
		}
		for _, q := range []string{"", "q=", "q=%20!!", "q=a&limit=101", "q=a&before_id=-1"} {
			if r := env.Do(t, "GET", "/v1/messages/search?"+q, w.tn.Token, nil); r.Status != 400 {
				t.Errorf("search %s: %d", q, r.Status)
			}
		}
	})
}
