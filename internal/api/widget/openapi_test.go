package widget_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/api/apitest"
	"github.com/parley-cc/parley/internal/api/widget"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// The tests below keep openapi.json honest (see package apitest): it
// documents exactly widget.Routes(), its response schemas are strict,
// every response the package's tests get validates against it, and one
// flow produces every documented status on SQLite and PostgreSQL.

var family = &apitest.Family{
	Name:           "widget",
	Doc:            widget.OpenAPI,
	Routes:         routes(),
	Always:         []string{"400", "500"},
	Authenticated:  []string{"401", "403"},
	WithBody:       []string{"413"},
	OptionalFields: []string{"fields", "content", "url"},
}

func routes() []apitest.Route {
	var out []apitest.Route
	for _, rt := range widget.Routes() {
		out = append(out, apitest.Route{Method: rt.Method, Path: widget.Prefix + rt.Path, Public: rt.Public})
	}
	return out
}

// TestMain validates every exchange of the package's tests with the family.
func TestMain(m *testing.M) {
	rec, err := family.NewRecorder()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.Transport = rec.Transport(http.DefaultTransport)
	os.Exit(m.Run())
}

func TestOpenAPIRoutes(t *testing.T) { family.CheckRoutes(t) }

// TestOpenAPIStrictSchemas: response objects list every property as
// required and allow no others; request objects are closed too, since the
// family refuses unknown fields.
func TestOpenAPIStrictSchemas(t *testing.T) {
	family.CheckStrictSchemas(t, false)
	family.CheckClosedRequests(t)
}

// call is one request of the flow: path from the server's root.
type call struct {
	method, path, auth string
	body               any
	want               int
}

func run(t *testing.T, rec *apitest.Recorder, calls ...call) {
	t.Helper()
	for _, c := range calls {
		rec.Do(t, apitest.Request{Method: c.method, Path: c.path, Auth: c.auth, Body: c.body, Want: c.want})
	}
}

func TestOpenAPIResponses(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.Uploads = chat.UploadLimits{ChatFiles: 2} // the flow reaches chat A's quota
		}})
		tn := env.NewTenant(t, "Shop")
		rec := family.Recorder(t, env.URL())
		rec.CheckServed(t)
		pid := project(t, env, tn)
		base := "/v1/widget/projects/" + pid + "/chats"
		start := func(visitor string, want int) session {
			t.Helper()
			var s session
			rec.JSON(t, apitest.Request{Method: "POST", Path: base, Body: map[string]any{"visitor_id": visitor, "name": "Ann"}, Want: want}, &s)
			return s
		}
		// Chat starts: at most 10 a minute from one address, every
		// answer counted, so the errors come first.
		huge := `{"visitor_id": "` + strings.Repeat("v", widget.BodyLimit) + `"}`
		run(t, rec,
			call{"POST", base, "", map[string]any{"visitor_id": "short"}, 400},
			call{"POST", base, "", map[string]any{"visitor_id": "visitor-aaaaaaaaaaaaaaaa", "nmae": "Ann"}, 400}, // unknown fields are refused
			call{"POST", base, "", huge, 413},
			call{"POST", "/v1/widget/projects/" + uuid.NewString() + "/chats", "", map[string]any{"visitor_id": "visitor-cccccccccccccccc"}, 404},
			call{"POST", "/v1/widget/projects/not-a-uuid/chats", "", map[string]any{"visitor_id": "visitor-cccccccccccccccc"}, 400},
		)
		// A visitor who has not written has no chat to resume (the
		// widget opens none before the first message).
		run(t, rec, call{"POST", base, "", map[string]any{"visitor_id": "visitor-dddddddddddddddd", "resume_only": true}, 404})
		a := start("visitor-aaaaaaaaaaaaaaaa", 201)
		start("visitor-aaaaaaaaaaaaaaaa", 200)
		b := start("visitor-bbbbbbbbbbbbbbbb", 201)
		var c session
		rec.JSON(t, apitest.Request{Method: "POST", Path: base, Body: map[string]any{"visitor_id": "visitor-cccccccccccccccc", "text": "First words"}, Want: 201}, &c)
		for i := 0; ; i++ {
			res, _ := rec.Send(t, apitest.Request{Method: "POST", Path: base, Body: map[string]any{"visitor_id": fmt.Sprintf("visitor-flood-%04d-xxxx", i)}})
			if res.StatusCode == 429 {
				break
			}
			if i == 20 {
				t.Fatal("20 chat starts in a row were not rate-limited")
			}
		}

		chat := func(s session) string { return fmt.Sprintf("%s/%d", base, s.ChatID) }
		ta, tb, tc := "Bearer "+a.Token, "Bearer "+b.Token, "Bearer "+c.Token

		// What every chat route answers alike.
		for _, rt := range widget.Routes() {
			if rt.Public {
				continue
			}
			path := apitest.Fill(widget.Prefix+rt.Path, pid, fmt.Sprint(a.ChatID))
			other := apitest.Fill(widget.Prefix+rt.Path, pid, fmt.Sprint(b.ChatID))
			run(t, rec,
				call{rt.Method, path, "", nil, 401},
				call{rt.Method, path, "Bearer not.a.token", nil, 401},
				call{rt.Method, path, "Bearer " + tn.Token, nil, 401}, // a staff token
				call{rt.Method, other, ta, map[string]any{"text": "intrusion", "key": "x"}, 403},
				call{rt.Method, apitest.Fill(widget.Prefix+rt.Path, uuid.NewString(), fmt.Sprint(a.ChatID)), ta, nil, 404},
				call{rt.Method, apitest.Fill(widget.Prefix+rt.Path, pid, "x"), ta, nil, 400},
			)
		}

		var form struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		run(t, rec,
			call{"GET", chat(a), ta, nil, 200},
			call{"POST", chat(a) + "/rating", ta, map[string]any{"rating": 5}, 409}, // a live chat is not rated
			call{"POST", chat(a) + "/messages", ta, map[string]any{"text": "Hello"}, 201},
			call{"POST", chat(a) + "/messages", ta, map[string]any{"text": " "}, 400},
			call{"POST", chat(a) + "/messages", ta, `{"text": `, 400},
			call{"POST", chat(a) + "/messages", ta, `{"text": "` + strings.Repeat("x", widget.BodyLimit) + `"}`, 413},
			call{"POST", chat(a) + "/typing", ta, nil, 204},
		)
		if r := env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", a.ChatID), tn.OperatorToken,
			map[string]any{"message": map[string]any{"content": "Hi, how can I help?"}}); r.Status != 200 {
			t.Fatalf("operator reply: %d %s", r.Status, r.Body)
		}
		rec.JSON(t, apitest.Request{Method: "POST", Path: chat(a) + "/photos/upload", Auth: ta, Want: 200}, &form)
		upload(t, form.URL, form.Fields, []byte("\x89PNG\r\n\x1a\nphoto"))
		run(t, rec,
			call{"POST", chat(a) + "/photos", ta, map[string]any{"key": form.Fields["key"]}, 201},
			call{"POST", chat(a) + "/photos", ta, map[string]any{"key": form.Fields["key"]}, 409}, // a key is attached once
			call{"POST", chat(a) + "/photos/upload", ta, map[string]any{"content_type": "text/html"}, 400},
			call{"POST", chat(a) + "/photos/upload", ta, map[string]any{"content_type": "image/png"}, 200}, // chat A's second form
			call{"POST", chat(a) + "/photos/upload", ta, nil, 413},                                         // past its quota of 2
			call{"POST", chat(a) + "/photos", ta, map[string]any{"key": form.Fields["key"] + "x"}, 400},
			call{"POST", chat(a) + "/photos", ta, `{"key": "` + strings.Repeat("k", widget.BodyLimit) + `"}`, 413},
			call{"GET", chat(a), ta, nil, 200}, // assigned: with the operator's first name
			call{"GET", chat(a) + "/messages", ta, nil, 200},
			call{"GET", chat(a) + "/messages?after_seq=1&limit=2", ta, nil, 200},
			call{"GET", chat(a) + "/messages?limit=x", ta, nil, 400},
			call{"POST", chat(a) + "/end", ta, nil, 204}, // the visitor ends the chat
			call{"POST", chat(a) + "/end", ta, nil, 409},
			call{"GET", chat(a), ta, nil, 200},
		)

		// An ended chat takes no more posts.
		var formB struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		rec.JSON(t, apitest.Request{Method: "POST", Path: chat(b) + "/photos/upload", Auth: tb, Want: 200}, &formB)
		upload(t, formB.URL, formB.Fields, []byte("\x89PNG\r\n\x1a\nphoto"))
		if r := env.Do(t, "PATCH", fmt.Sprintf("/apps/api/v1/chats/%d", b.ChatID), tn.Token, map[string]any{"chat": map[string]any{"status": "finished"}}); r.Status != 200 {
			t.Fatalf("end chat B: %d %s", r.Status, r.Body)
		}
		run(t, rec,
			call{"GET", chat(b), tb, nil, 200},
			call{"POST", chat(b) + "/messages", tb, map[string]any{"text": "late"}, 409},
			call{"POST", chat(b) + "/typing", tb, nil, 409},
			call{"POST", chat(b) + "/photos/upload", tb, nil, 409},
			call{"POST", chat(b) + "/photos", tb, map[string]any{"key": formB.Fields["key"]}, 409},
			// The ended chat is rated once; a retry answers the stored rating.
			call{"POST", chat(b) + "/rating", tb, map[string]any{"rating": 6}, 400},
			call{"POST", chat(b) + "/rating", tb, map[string]any{"comment": "no rating"}, 400},
			call{"POST", chat(b) + "/rating", tb, map[string]any{"rating": 4, "comment": "Quick"}, 201},
			call{"POST", chat(b) + "/rating", tb, map[string]any{"rating": 4, "comment": "Quick"}, 200},
			call{"POST", chat(b) + "/rating", tb, map[string]any{"rating": 1, "comment": "Quick"}, 409},
			call{"POST", chat(b) + "/rating", tb, `{"comment": "` + strings.Repeat("c", widget.BodyLimit) + `"}`, 413},
			call{"GET", chat(b), tb, nil, 200}, // with its rating
		)

		// Posts: at most 30 at once per chat, whatever the method.
		for _, rt := range widget.Routes() {
			if rt.Public || rt.Method != "POST" {
				continue
			}
			path := apitest.Fill(widget.Prefix+rt.Path, pid, fmt.Sprint(c.ChatID))
			for i := 0; ; i++ {
				res, _ := rec.Send(t, apitest.Request{Method: "POST", Path: path, Auth: tc, Body: map[string]any{"text": "again"}})
				if res.StatusCode == 429 {
					break
				}
				if i == 40 {
					t.Fatalf("%s: 40 posts in a row were not rate-limited", path)
				}
			}
		}
		rec.CheckCoverage(t)
	})
}

// upload posts a file to a presigned form as the widget does: the fields
// as given (Content-Type among them), the file last.
func upload(t *testing.T, url string, fields map[string]string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "p.png")
	_, _ = fw.Write(data)
	_ = mw.Close()
	res, err := http.Post(url, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 && res.StatusCode != 204 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
}
