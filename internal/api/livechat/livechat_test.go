package livechat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api/livechat"
	"github.com/parley-cc/parley/internal/testenv"
)

type fixture struct {
	*testenv.Tenant
	Project string
	Conv    string
	ChatID  int64
	Secrets []string
}

type wrapped struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		ErrorID     string `json:"errorId"`
		Code        string `json:"code"`
		Message     string `json:"message"`
		Timestamp   int64  `json:"timestamp"`
		FieldErrors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fieldErrors"`
	} `json:"error"`
}

func unwrap(t *testing.T, r *testenv.Response, status int, data any) wrapped {
	t.Helper()
	var w wrapped
	r.JSON(t, &w)
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if data != nil {
		if !w.Success {
			t.Fatalf("success=false: %s", r.Body)
		}
		if err := json.Unmarshal(w.Data, data); err != nil {
			t.Fatalf("data: %v: %s", err, r.Body)
		}
	}
	return w
}

// errCode returns the wire code of a failure wrapper, "" if r is not one.
func errCode(r *testenv.Response) string {
	var w wrapped
	if json.Unmarshal(r.Body, &w) != nil || w.Success || w.Error == nil || string(w.Data) != "null" ||
		w.Error.Message == "" || w.Error.Timestamp == 0 || uuid.Validate(w.Error.ErrorID) != nil {
		return ""
	}
	return w.Error.Code
}

func newFixture(t *testing.T, env *testenv.Env, name string) *fixture {
	t.Helper()
	f := &fixture{Tenant: env.NewTenant(t, name)}
	ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: f.CompanyID, CompanyUUID: f.CompanyUUID, Role: parley.RoleAdmin})
	p, err := env.Chats.CreateProject(ctx, name+" site")
	if err != nil {
		t.Fatal(err)
	}
	f.Project = p.UUID
	var c struct {
		ConversationUUID string `json:"conversationUuid"`
		ChatID           int64  `json:"chatId"`
		Status           string `json:"status"`
	}
	unwrap(t, env.Do(t, "POST", f.base()+"/conversations", f.Token,
		map[string]any{"endUser": map[string]any{"identifier": name + "-ident-secret", "name": name + "-user-secret"}}), 201, &c)
	f.Conv, f.ChatID = c.ConversationUUID, c.ChatID
	unwrap(t, env.Do(t, "POST", f.conv()+"/messages/client", f.Token,
		map[string]any{"itemUuid": uuid.NewString(), "text": name + "-message-secret"}), 201, &struct{}{})
	f.Secrets = []string{name + "-ident-secret", name + "-user-secret", name + "-message-secret"}
	return f
}

func (f *fixture) base() string { return "/v1/projects/" + f.Project + "/livechat" }
func (f *fixture) conv() string { return f.base() + "/conversations/" + f.Conv }

type request struct {
	Method, Path string
	Body         any
}

func requestFor(t *testing.T, f *fixture, rt livechat.Route) request {
	t.Helper()
	m := map[string]request{
		"POST /conversations":                                      {"POST", f.base() + "/conversations", map[string]any{"endUser": map[string]any{"identifier": "x"}}},
		"GET /conversations":                                       {"GET", f.base() + "/conversations", nil},
		"GET /conversations/{conversationUuid}/messages":           {"GET", f.conv() + "/messages", nil},
		"POST /conversations/{conversationUuid}/messages/operator": {"POST", f.conv() + "/messages/operator", map[string]any{"itemUuid": uuid.NewString(), "text": "hi", "idempotencyKey": "k1"}},
		"POST /conversations/{conversationUuid}/messages/client":   {"POST", f.conv() + "/messages/client", map[string]any{"itemUuid": uuid.NewString(), "text": "hello"}},
		"POST /conversations/{conversationUuid}/close":             {"POST", f.conv() + "/close", map[string]any{"companyUuid": f.CompanyUUID}},
	}
	r, ok := m[rt.Method+" "+rt.Path]
	if !ok {
		t.Fatalf("route %s has no request: add one", rt.Pattern())
	}
	return r
}

type message struct {
	ItemUUID   string `json:"itemUuid"`
	Seq        int    `json:"seq"`
	SenderType string `json:"senderType"`
	Text       string `json:"text"`
}

func TestRoutes(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		f := newFixture(t, env, "Alpha")

		var list struct {
			Items []struct {
				ConversationUUID string `json:"conversationUuid"`
				ChatID           int64  `json:"chatId"`
			} `json:"items"`
		}
		unwrap(t, env.Do(t, "GET", f.base()+"/conversations?limit=10&offset=0", f.Token, nil), 200, &list)
		if len(list.Items) != 1 || list.Items[0].ConversationUUID != f.Conv || list.Items[0].ChatID != f.ChatID {
			t.Fatalf("list: %+v", list)
		}
		unwrap(t, env.Do(t, "GET", f.base()+"/conversations?offset=1", f.Token, nil), 200, &list)
		if len(list.Items) != 0 {
			t.Fatalf("offset 1: %+v", list)
		}

		item := uuid.NewString()
		body := map[string]any{"itemUuid": item, "text": "operator says hi", "companyUuid": f.CompanyUUID}
		var m message
		unwrap(t, env.Do(t, "POST", f.conv()+"/messages/operator", f.OperatorToken, body), 201, &m)
		if m.ItemUUID != item || m.Seq != 2 || m.SenderType != "operator" {
			t.Fatalf("operator message: %+v", m)
		}
		// The same item again, without a key: the stored message, not a second one.
		unwrap(t, env.Do(t, "POST", f.conv()+"/messages/operator", f.OperatorToken, body), 200, &m)
		if m.Seq != 2 {
			t.Fatalf("item replay: %+v", m)
		}
		if r := env.Do(t, "POST", f.conv()+"/messages/operator", f.Token, map[string]any{"itemUuid": item, "text": "other"}); r.Status != 409 || errCode(r) != "CONFLICT" {
			t.Fatalf("item with other text: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "POST", f.conv()+"/messages/operator", f.Token, map[string]any{"itemUuid": uuid.NewString(), "text": "x", "companyUuid": uuid.NewString()}); r.Status != 403 || errCode(r) != "FORBIDDEN" {
			t.Fatalf("foreign companyUuid: %d %s", r.Status, r.Body)
		}
		r := env.Do(t, "POST", f.conv()+"/messages/operator", f.Token, map[string]any{"text": "x"})
		if w := unwrap(t, r, 400, nil); errCode(r) != "VALIDATION_ERROR" || len(w.Error.FieldErrors) != 1 || w.Error.FieldErrors[0].Field != "itemUuid" {
			t.Fatalf("missing itemUuid: %s", r.Body)
		}
		unwrap(t, env.Do(t, "POST", f.conv()+"/messages/client", f.Token, map[string]any{"itemUuid": uuid.NewString(), "text": "thanks"}), 201, &m)
		if m.Seq != 3 || m.SenderType != "client" {
			t.Fatalf("client message: %+v", m)
		}

		var page struct {
			Items        []message `json:"items"`
			NextAfterSeq int       `json:"nextAfterSeq"`
		}
		unwrap(t, env.Do(t, "GET", f.conv()+"/messages?limit=2", f.Token, nil), 200, &page)
		if len(page.Items) != 2 || page.NextAfterSeq != 2 {
			t.Fatalf("page 1: %+v", page)
		}
		unwrap(t, env.Do(t, "GET", fmt.Sprintf("%s/messages?afterSeq=%d", f.conv(), page.NextAfterSeq), f.Token, nil), 200, &page)
		if len(page.Items) != 1 || page.Items[0].Text != "thanks" {
			t.Fatalf("page 2: %+v", page)
		}

		// The same chat through the v1 family.
		v1 := env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", f.ChatID), f.Token, nil)
		if v1.Status != 200 {
			t.Fatalf("v1 messages: %d %s", v1.Status, v1.Body)
		}
		if !strings.Contains(string(v1.Body), "operator says hi") || !strings.Contains(string(v1.Body), "thanks") {
			t.Fatalf("v1 does not list the gateway's messages: %s", v1.Body)
		}

		var closed struct {
			Status  string `json:"status"`
			EndedAt *int64 `json:"endedAt"`
		}
		unwrap(t, env.Do(t, "POST", f.conv()+"/close", f.Token, nil), 200, &closed)
		if closed.Status != "finished" || closed.EndedAt == nil {
			t.Fatalf("close: %+v", closed)
		}
		if r := env.Do(t, "POST", f.conv()+"/messages/client", f.Token, map[string]any{"itemUuid": uuid.NewString(), "text": "late"}); r.Status != 409 || errCode(r) != "CONFLICT" {
			t.Fatalf("post to closed: %d %s", r.Status, r.Body)
		}
		// Unknown paths and methods answer in the wrapper too.
		if r := env.Do(t, "DELETE", f.conv()+"/close", f.Token, nil); r.Status != 405 || errCode(r) != "METHOD_NOT_ALLOWED" {
			t.Fatalf("405: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "GET", f.base()+"/nothing", f.Token, nil); r.Status != 404 || errCode(r) != "NOT_FOUND" {
			t.Fatalf("404: %d %s", r.Status, r.Body)
		}
	})
}

func TestIdempotency(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		body := map[string]any{"itemUuid": uuid.NewString(), "text": "once", "idempotencyKey": "retry-1"}

		const n = 20
		answers := make([]*testenv.Response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = env.Do(t, "POST", a.conv()+"/messages/operator", a.Token, body)
			}()
		}
		wg.Wait()
		for i, r := range answers {
			if r.Status != 201 || string(r.Body) != string(answers[0].Body) {
				t.Errorf("retry %d: %d %s, first %s", i, r.Status, r.Body, answers[0].Body)
			}
		}
		var page struct {
			Items []message `json:"items"`
		}
		unwrap(t, env.Do(t, "GET", a.conv()+"/messages", a.Token, nil), 200, &page)
		count := 0
		for _, m := range page.Items {
			if m.Text == "once" {
				count++
			}
		}
		if count != 1 || len(page.Items) != 2 {
			t.Fatalf("%d messages 'once', %d in all; want 1 and 2", count, len(page.Items))
		}

		other := map[string]any{"itemUuid": uuid.NewString(), "text": "different", "idempotencyKey": "retry-1"}
		if r := env.Do(t, "POST", a.conv()+"/messages/operator", a.Token, other); r.Status != 409 || errCode(r) != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("key reuse: %d %s", r.Status, r.Body)
		}
		// Keys are per company: B may use A's key.
		if r := env.Do(t, "POST", b.conv()+"/messages/operator", b.Token, other); r.Status != 201 {
			t.Fatalf("company B with A's key: %d %s", r.Status, r.Body)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		before := string(env.Do(t, "GET", a.conv()+"/messages", a.Token, nil).Body) + string(env.Do(t, "GET", a.base()+"/conversations", a.Token, nil).Body)
		for _, rt := range livechat.Routes() {
			req := requestFor(t, a, rt)
			for _, token := range []string{b.Token, b.OperatorToken} {
				r := env.Do(t, req.Method, req.Path, token, req.Body)
				if r.Status != 404 && r.Status != 403 {
					t.Errorf("%s with B's token: %d %s", rt.Pattern(), r.Status, r.Body)
				}
				if errCode(r) == "" {
					t.Errorf("%s: not a failure wrapper: %s", rt.Pattern(), r.Body)
				}
				for _, s := range a.Secrets {
					if strings.Contains(string(r.Body), s) {
						t.Errorf("%s leaked %q", rt.Pattern(), s)
					}
				}
			}
			// B's own project with A's conversation: not found.
			if strings.Contains(rt.Path, "{conversationUuid}") {
				p := strings.Replace(req.Path, a.Project, b.Project, 1)
				if r := env.Do(t, req.Method, p, b.Token, req.Body); r.Status != 404 {
					t.Errorf("%s: A's conversation in B's project: %d", rt.Pattern(), r.Status)
				}
			}
		}
		after := string(env.Do(t, "GET", a.conv()+"/messages", a.Token, nil).Body) + string(env.Do(t, "GET", a.base()+"/conversations", a.Token, nil).Body)
		if before != after {
			t.Errorf("A changed under B's requests:\n%s\n%s", before, after)
		}
	})
}

func TestBadInput(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		f := newFixture(t, env, "Alpha")
		huge := strings.Repeat("ж", 50_000)
		type mutation struct {
			name, path string
			body       any
		}
		for _, rt := range livechat.Routes() {
			req := requestFor(t, f, rt)
			var cases []mutation
			if req.Body != nil {
				cases = append(cases,
					mutation{"malformed JSON", req.Path, `{"text": `},
					mutation{"trailing garbage", req.Path, `{} {}`},
					mutation{"JSON array", req.Path, `[1, 2]`},
					mutation{"oversized body", req.Path, `{"text": "` + strings.Repeat("a", 2<<20) + `"}`},
				)
				if rt.Path != "/conversations/{conversationUuid}/close" {
					cases = append(cases, mutation{"empty body", req.Path, ``})
				}
				for field := range req.Body.(map[string]any) {
					for _, v := range []any{map[string]any{"nested": []int{1}}, huge, "a\x00b"} {
						cases = append(cases, mutation{fmt.Sprintf("%s=%.10v", field, v), req.Path, with(req.Body.(map[string]any), field, v)})
					}
				}
			}
			for _, bad := range []string{"abc", "1", "00000000-0000-0000-0000-000000000000", "1%20OR%201=1"} {
				cases = append(cases, mutation{"project " + bad, strings.Replace(req.Path, f.Project, bad, 1), req.Body})
				if strings.Contains(rt.Path, "{conversationUuid}") {
					cases = append(cases, mutation{"conversation " + bad, strings.Replace(req.Path, f.Conv, bad, 1), req.Body})
				}
			}
			if rt.Method == "GET" {
				for _, q := range []string{"?limit=-1", "?limit=x", "?afterSeq=-5", "?offset=-1", "?limit=100000"} {
					cases = append(cases, mutation{"query " + q, req.Path + q, nil})
				}
			}
			for _, m := range cases {
				r := env.Do(t, req.Method, m.path, f.Token, m.body)
				name := fmt.Sprintf("%s (%s)", rt.Pattern(), m.name)
				if r.Status < 400 || r.Status > 499 {
					if !(r.Status < 300 && strings.Contains(m.name, "query")) {
						t.Errorf("%s: status %d, want 4xx: %.300s", name, r.Status, r.Body)
					}
					continue
				}
				if errCode(r) == "" {
					t.Errorf("%s: %d without a failure wrapper: %.300s", name, r.Status, r.Body)
				}
			}
			if r := env.Do(t, req.Method, req.Path, "", req.Body); r.Status != 401 || errCode(r) != "UNAUTHORIZED" {
				t.Errorf("%s without a token: %d %s", rt.Pattern(), r.Status, r.Body)
			}
			if r := env.Do(t, req.Method, req.Path, "not.a.token", req.Body); r.Status != 401 || errCode(r) == "" {
				t.Errorf("%s with a bad token: %d %s", rt.Pattern(), r.Status, r.Body)
			}
		}
	})
}

func with(body map[string]any, field string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range body {
		out[k] = x
	}
	out[field] = v
	return out
}
