package widget_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

func must(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

type session struct {
	ChatID   int64  `json:"chat_id"`
	ChatUUID string `json:"chat_uuid"`
	Status   string `json:"status"`
	Token    string `json:"token"`
	Resumed  bool   `json:"resumed"`
}

type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func code(t *testing.T, r *testenv.Response) string {
	t.Helper()
	var e errBody
	r.JSON(t, &e)
	if e.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.Body)
	}
	return e.Error.Code
}

func project(t *testing.T, env *testenv.Env, tn *testenv.Tenant) string {
	t.Helper()
	var p struct {
		ProjectUUID string `json:"project_uuid"`
	}
	must(t, env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "Site"}), 201).JSON(t, &p)
	return p.ProjectUUID
}

// TestWidgetAPI: a visitor starts a chat, resumes it with the same visitor
// id, posts, lists, types and sends a photo; tokens are bound to their
// chat; errors are JSON; chat starts are rate-limited per address.
func TestWidgetAPI(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Shop")
		other := env.NewTenant(t, "Other")
		p, q := project(t, env, tn), project(t, env, other)
		base := "/v1/widget/projects/" + p

		var a, a2, b session
		must(t, env.Do(t, "POST", base+"/chats", "", map[string]any{"visitor_id": "visitor-aaaaaaaaaaaaaaaa"}), 201).JSON(t, &a)
		if a.ChatID <= 0 || a.Token == "" || a.Status != "queued" || a.Resumed {
			t.Fatalf("started %+v", a)
		}
		must(t, env.Do(t, "POST", base+"/chats", "", map[string]any{"visitor_id": "visitor-aaaaaaaaaaaaaaaa"}), 200).JSON(t, &a2)
		if a2.ChatID != a.ChatID || !a2.Resumed {
			t.Fatalf("the same visitor got %+v, want chat %d resumed", a2, a.ChatID)
		}
		must(t, env.Do(t, "POST", base+"/chats", "", map[string]any{"visitor_id": "visitor-bbbbbbbbbbbbbbbb"}), 201).JSON(t, &b)
		if b.ChatID == a.ChatID {
			t.Fatal("two visitors share a chat")
		}
		chatA := fmt.Sprintf("%s/chats/%d", base, a.ChatID)
		chatB := fmt.Sprintf("%s/chats/%d", base, b.ChatID)

		var m struct {
			MessageID int64 `json:"message_id"`
			Seq       int   `json:"seq"`
		}
		must(t, env.Do(t, "POST", chatA+"/messages", a.Token, map[string]any{"text": "Hello from A"}), 201).JSON(t, &m)
		if m.Seq != 1 {
			t.Fatalf("message %+v", m)
		}
		must(t, env.Do(t, "POST", chatA+"/typing", a.Token, nil), 204)

		// The operator side sees the end user's message; its reply shows in the widget.
		must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", a.ChatID), tn.OperatorToken,
			map[string]any{"message": map[string]any{"type": "text", "content": "Hi, how can I help?"}}), 200)
		var list struct {
			Messages []struct {
				Seq        int    `json:"seq"`
				SenderType string `json:"sender_type"`
				Type       string `json:"type"`
				Content    string `json:"content"`
				URL        string `json:"url"`
			} `json:"messages"`
		}
		must(t, env.Do(t, "GET", chatA+"/messages", a.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 2 || list.Messages[0].Content != "Hello from A" || list.Messages[1].SenderType != "operator" {
			t.Fatalf("messages %s", env.Do(t, "GET", chatA+"/messages", a.Token, nil).Body)
		}
		must(t, env.Do(t, "GET", chatA+"/messages?after_seq=1", a.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 1 || list.Messages[0].Seq != 2 {
			t.Fatalf("after_seq=1: %+v", list.Messages)
		}
		var info struct {
			Status   string `json:"status"`
			Operator *struct {
				Name string `json:"name"`
			} `json:"operator"`
		}
		must(t, env.Do(t, "GET", chatA, a.Token, nil), 200).JSON(t, &info)
		if info.Status != "assigned" || info.Operator == nil || info.Operator.Name == "" {
			t.Fatalf("chat %+v", info)
		}

		// A token works for its own chat only.
		for _, c := range []struct{ method, path string }{
			{"GET", chatB}, {"GET", chatB + "/messages"}, {"POST", chatB + "/messages"}, {"POST", chatB + "/typing"},
			{"POST", chatB + "/photos/upload"}, {"POST", chatB + "/photos"},
		} {
			r := env.Do(t, c.method, c.path, a.Token, map[string]any{"text": "intrusion", "key": "x"})
			if r.Status != 403 || code(t, r) != "forbidden" {
				t.Errorf("%s %s with chat A's token: %d %s", c.method, c.path, r.Status, r.Body)
			}
		}
		// ...and under its own project only.
		if r := env.Do(t, "GET", fmt.Sprintf("/v1/widget/projects/%s/chats/%d", q, a.ChatID), a.Token, nil); r.Status != 403 {
			t.Errorf("chat A under another company's project: %d %s", r.Status, r.Body)
		}
		must(t, env.Do(t, "GET", chatB+"/messages", b.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 0 {
			t.Errorf("chat B shows %d messages", len(list.Messages))
		}
		// Staff tokens are not widget tokens, and widget tokens are not staff tokens.
		if r := env.Do(t, "GET", chatA+"/messages", tn.Token, nil); r.Status != 401 || code(t, r) != "unauthorized" {
			t.Errorf("staff token on the widget API: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", a.ChatID), a.Token, nil); r.Status != 401 {
			t.Errorf("widget token on v1: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "GET", chatA+"/messages", "", nil); r.Status != 401 {
			t.Errorf("no token: %d", r.Status)
		}

		// Bad input: JSON errors, 4xx.
		for _, c := range []struct {
			method, path, token string
			body                any
			status              int
		}{
			{"POST", base + "/chats", "", map[string]any{"visitor_id": "short"}, 400},
			{"POST", base + "/chats", "", `{"visitor_id": `, 400},
			{"POST", "/v1/widget/projects/00000000-0000-0000-0000-000000000000/chats", "", map[string]any{"visitor_id": "visitor-cccccccccccccccc"}, 404},
			{"POST", "/v1/widget/projects/not-a-uuid/chats", "", map[string]any{"visitor_id": "visitor-cccccccccccccccc"}, 400},
			{"POST", chatA + "/messages", a.Token, map[string]any{"text": ""}, 400},
			{"POST", chatA + "/messages", a.Token, map[string]any{"text": strings.Repeat("x", 20000)}, 413},
			{"POST", chatA + "/photos", a.Token, map[string]any{"key": "chats/1/1/photo/elsewhere"}, 400},
			{"DELETE", chatA + "/messages", a.Token, nil, 405},
			{"GET", base + "/nothing", "", nil, 404},
		} {
			r := env.Do(t, c.method, c.path, c.token, c.body)
			if r.Status != c.status {
				t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, r.Status, c.status, r.Body)
				continue
			}
			code(t, r)
		}

		// A photo: presigned form, multipart POST, attach; the list gives its URL.
		var form struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		must(t, env.Do(t, "POST", chatA+"/photos/upload", a.Token, map[string]any{"content_type": "image/png"}), 200).JSON(t, &form)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range form.Fields { // exactly as given: the form names the type
			_ = mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "p.png")
		_, _ = fw.Write(append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 500)...))
		_ = mw.Close()
		res, err := http.Post(form.URL, mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("upload: %d", res.StatusCode)
		}
		must(t, env.Do(t, "POST", chatA+"/photos", a.Token, map[string]any{"key": form.Fields["key"]}), 201)
		must(t, env.Do(t, "GET", chatA+"/messages?after_seq=2", a.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 1 || list.Messages[0].Type != "photo" || list.Messages[0].URL == "" || list.Messages[0].Content != "" {
			t.Fatalf("photo message %+v", list.Messages)
		}
		if r, err := http.Get(list.Messages[0].URL); err != nil || r.StatusCode != 200 {
			t.Fatalf("photo download: %v %v", r, err)
		} else {
			r.Body.Close()
		}

		// Chat starts are limited per address: the burst runs out.
		limited := false
		for i := 0; i < 20 && !limited; i++ {
			r := env.Do(t, "POST", base+"/chats", "", map[string]any{"visitor_id": fmt.Sprintf("visitor-rate-%08d", i)})
			if r.Status == 429 {
				limited = code(t, r) == "rate_limited" && r.Header.Get("Retry-After") != ""
			}
		}
		if !limited {
			t.Error("20 chat starts from one address were not rate-limited")
		}
		// Posts are limited per chat token.
		limited = false
		for i := 0; i < 40 && !limited; i++ {
			limited = env.Do(t, "POST", chatB+"/typing", b.Token, nil).Status == 429
		}
		if !limited {
			t.Error("40 posts with one token were not rate-limited")
		}
	})
}
