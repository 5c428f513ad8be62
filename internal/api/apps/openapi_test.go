package apps_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/api/apitest"
	"github.com/parley-cc/parley/internal/api/apps"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/webhook"
)

// The tests below keep openapi.json honest (see package apitest): it
// documents exactly apps.Routes(), its response schemas are strict, every
// response the package's tests get validates against it, and one flow
// produces every documented status on SQLite and PostgreSQL.

var family = &apitest.Family{
	Name:           "apps",
	Doc:            apps.OpenAPI,
	Routes:         routes(),
	Always:         []string{"500"},
	Authenticated:  []string{"401"},
	WithBody:       []string{"413", "422"},
	OptionalFields: []string{"errors", "request_id", "label"}, // an error's fields, request_id of a recovered panic, a custom field's label
}

func routes() []apitest.Route {
	var out []apitest.Route
	for _, rt := range apps.Routes() {
		out = append(out, apitest.Route{Method: rt.Method, Path: apps.Prefix + rt.Path})
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

// TestOpenAPIStrictSchemas: the webhook methods refuse unknown fields, so
// request objects are not all open here.
func TestOpenAPIStrictSchemas(t *testing.T) { family.CheckStrictSchemas(t, false) }

// oa is one request of the flow: path below apps.Prefix.
type oa struct {
	method, path, auth string
	body               any
	want               int
}

type oaFlow struct {
	t   *testing.T
	rec *apitest.Recorder
}

func (f oaFlow) run(calls ...oa) {
	f.t.Helper()
	for _, c := range calls {
		f.rec.Do(f.t, apitest.Request{Method: c.method, Path: apps.Prefix + c.path, Auth: c.auth, Body: c.body, Want: c.want})
	}
}

func (f oaFlow) json(c oa, v any) {
	f.t.Helper()
	f.rec.JSON(f.t, apitest.Request{Method: c.method, Path: apps.Prefix + c.path, Auth: c.auth, Body: c.body, Want: c.want}, v)
}

func TestOpenAPIResponses(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.WebhookAllowPrivate = true
			c.WebhookBackoff = time.Hour                // a failed first attempt stays pending
			c.Uploads = chat.UploadLimits{ChatFiles: 3} // the media flow reaches the chat's quota
		}})
		whReady(t, env)
		tn := env.NewTenant(t, "Acme")
		rec := family.Recorder(t, env.URL())
		rec.CheckServed(t)
		f := oaFlow{t, rec}
		tok, opTok := "Bearer "+tn.Token, "Bearer "+tn.OperatorToken

		// What every route answers alike: no token, a bad one, and for the
		// routes with a body an over-limit and a malformed one.
		huge := `{"name": "` + strings.Repeat("a", apps.BodyLimit) + `"}`
		for _, rt := range apps.Routes() {
			path := apitest.Fill(rt.Path, "1", "1")
			f.run(oa{rt.Method, path, "", nil, 401}, oa{rt.Method, path, "Bearer not.a.token", nil, 401})
			if rt.Method != "GET" && rt.Method != "DELETE" && !strings.HasSuffix(rt.Path, "/redeliver") {
				f.run(oa{rt.Method, path, tok, huge, 413}, oa{rt.Method, path, tok, `{"name": `, 422}, oa{rt.Method, path, tok, `[1]`, 422})
			}
		}

		// Webhooks first, so that the chats below have deliveries.
		ok := whNewReceiver(t, whAlways(200))
		failing := whNewReceiver(t, whAlways(500))
		var hook, other struct {
			ID int64 `json:"id"`
		}
		f.json(oa{"POST", "/webhooks", tok, map[string]any{"url": ok.URL + "/hook", "events": []string{"chat.created"}, "active": true}, 201}, &hook)
		f.json(oa{"POST", "/webhooks", tok, map[string]any{"url": failing.URL + "/hook", "events": []string{"chat.*"}}, 201}, &other)
		wh, wo := fmt.Sprintf("/webhooks/%d", hook.ID), fmt.Sprintf("/webhooks/%d", other.ID)
		f.run(
			oa{"POST", "/webhooks", tok, map[string]any{"url": ok.URL, "evnets": []string{"x"}}, 422},
			oa{"POST", "/webhooks", tok, map[string]any{"url": "ftp://example.com/x"}, 422},
			oa{"POST", "/webhooks", tok, map[string]any{"url": ok.URL, "events": []string{}}, 422},
			oa{"POST", "/webhooks", opTok, map[string]any{"url": ok.URL}, 403},
			oa{"GET", "/webhooks", tok, nil, 200},
			oa{"GET", "/webhooks?page=2&per_page=1", tok, nil, 200},
			oa{"GET", "/webhooks?limit=1&offset=1", tok, nil, 200},
			oa{"GET", "/webhooks?page=1&limit=1", tok, nil, 422},
			oa{"GET", "/webhooks?per_page=0", tok, nil, 422},
			oa{"GET", "/webhooks", opTok, nil, 403},
			oa{"GET", wh, tok, nil, 200},
			oa{"GET", wh, opTok, nil, 403},
			oa{"GET", "/webhooks/999999", tok, nil, 404},
			oa{"GET", "/webhooks/x", tok, nil, 422},
			oa{"PATCH", wo, tok, map[string]any{"events": []string{"chat.created"}}, 200},
			oa{"PATCH", wo, tok, map[string]any{"active": nil}, 200},
			oa{"PATCH", wo, tok, map[string]any{"url": "not a url"}, 422},
			oa{"PATCH", wo, opTok, map[string]any{"active": false}, 403},
			oa{"PATCH", "/webhooks/999999", tok, map[string]any{"active": false}, 404},
			oa{"GET", wh + "/deliveries", tok, nil, 200},
			oa{"GET", wh + "/deliveries?status=lost", tok, nil, 422},
			oa{"GET", wh + "/deliveries", opTok, nil, 403},
			oa{"GET", "/webhooks/999999/deliveries", tok, nil, 404},
		)

		// Operators, menus, projects.
		var me struct {
			OperatorID int64 `json:"operator_id"`
		}
		if r := env.Do(t, "GET", "/v1/operators/me", tn.OperatorToken, nil); r.Status != 200 {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		} else {
			r.JSON(t, &me)
		}
		var menu, vaMenu struct {
			ID int64 `json:"id"`
		}
		f.json(oa{"POST", "/menus", tok, map[string]any{"name": "Support", "operator_ids": []int64{me.OperatorID}, "unknown": 1}, 201}, &menu)
		f.json(oa{"POST", "/menus", tok, map[string]any{"name": "Assistant", "agent_uuid": tn.AgentUUID}, 201}, &vaMenu)
		m := fmt.Sprintf("/menus/%d", menu.ID)
		f.run(
			oa{"POST", "/menus", tok, map[string]any{"name": " "}, 422},
			oa{"POST", "/menus", tok, map[string]any{"name": "x", "agent_uuid": uuid.NewString()}, 404},
			oa{"POST", "/menus", opTok, map[string]any{"name": "x"}, 403},
			oa{"GET", "/menus", tok, nil, 200},
			oa{"GET", "/menus", opTok, nil, 200},
			oa{"GET", m, opTok, nil, 200},
			oa{"GET", "/menus/999999", tok, nil, 404},
			oa{"GET", "/menus/0", tok, nil, 422},
			oa{"PATCH", m, tok, map[string]any{"name": "Support desk", "operator_ids": []int64{}}, 200},
			oa{"PATCH", m, tok, map[string]any{}, 422},
			oa{"PATCH", m, tok, map[string]any{"inactivity_minutes": 5}, 200},
			oa{"PATCH", m, tok, map[string]any{"inactivity_minutes": -1}, 422},
			oa{"PATCH", m, tok, map[string]any{"inactivity_minutes": nil}, 200},
			oa{"PATCH", m, opTok, map[string]any{"name": "x"}, 403},
			oa{"PATCH", "/menus/999999", tok, map[string]any{"name": "x"}, 404},
			oa{"POST", "/projects", tok, map[string]any{"name": "Site", "menu_id": menu.ID}, 201},
			oa{"POST", "/projects", tok, map[string]any{"name": "Bare"}, 201},
			oa{"POST", "/projects", tok, map[string]any{"name": "x", "menu_id": 999999}, 404},
			oa{"POST", "/projects", tok, map[string]any{"menu_id": menu.ID}, 422},
			oa{"POST", "/projects", opTok, map[string]any{"name": "x"}, 403},
		)
		menuDeleteContract(f, tok, opTok, m)

		// Chats.
		var c, vaChat struct {
			ID int64 `json:"id"`
		}
		f.json(oa{"POST", "/chats", tok, map[string]any{
			"chat": map[string]any{"menu_id": menu.ID, "lang": "en", "email": "ann@example.com", "context": map[string]any{"value": map[string]any{"order": "42"}},
				"transcript": map[string]any{"messages": []any{map[string]any{"sender_type": "end_user", "content": "I wrote to the bot"}}}},
			"end_user": map[string]any{"phone": "+390612345", "name": "Ann"}}, 201}, &c)
		f.json(oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{"menu_id": fmt.Sprint(vaMenu.ID), "transcript": []any{}}, "end_user": map[string]any{"identifier": "bot-user"}}, 201}, &vaChat)
		ch, va := fmt.Sprintf("/chats/%d", c.ID), fmt.Sprintf("/chats/%d", vaChat.ID)
		f.run(
			oa{"POST", "/chats", opTok, map[string]any{"chat": map[string]any{"end_user_id": 1}}, 201},
			oa{"POST", "/chats", tok, map[string]any{"end_user": map[string]any{"identifier": "x"}}, 422},
			oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{}}, 422}, // no end user at all
			oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{"email": "x@example.com", "context": []int{1}}}, 422},
			oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{"email": "x@example.com", "transcript": "hi"}}, 422},
			oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{"end_user_id": 999999}}, 404},
			oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{"email": "x@example.com", "project_uuid": uuid.NewString()}}, 404},

			oa{"GET", "/chats", tok, nil, 200},
			oa{"GET", fmt.Sprintf("/chats?status=queued&menu_id=%d&limit=1", menu.ID), tok, nil, 200},
			oa{"GET", "/chats?after_id=1&limit=1", tok, nil, 200},
			oa{"GET", "/chats?status=queued", opTok, nil, 200},
			oa{"GET", "/chats?status=lost", tok, nil, 422},
			oa{"GET", "/chats?after_id=-1", tok, nil, 422},
			oa{"GET", ch, tok, nil, 200},
			oa{"GET", va, opTok, nil, 403}, // with its virtual agent: out of an operator's sight
			oa{"GET", "/chats/999999", tok, nil, 404},
			oa{"GET", "/chats/x", tok, nil, 422},

			oa{"POST", ch + "/message", tok, map[string]any{"message": map[string]any{"type": "text", "content": "Hello"}}, 200},
			oa{"POST", ch + "/message", tok, map[string]any{"from_user_id": me.OperatorID, "message": map[string]any{"content": "Hi Ann"}}, 200},
			oa{"POST", ch + "/message", opTok, map[string]any{"message": map[string]any{"content": "Anything else?"}}, 200},
			oa{"POST", ch + "/message", tok, map[string]any{"message": map[string]any{"type": "photo", "content": "x"}}, 422},
			oa{"POST", ch + "/message", tok, map[string]any{"from_user_id": 999999, "message": map[string]any{"content": "x"}}, 422},
			oa{"POST", ch + "/message", tok, map[string]any{}, 422},
			oa{"POST", "/chats/999999/message", tok, map[string]any{"message": map[string]any{"content": "x"}}, 404},
			oa{"POST", ch + "/typing", tok, nil, 204},
			oa{"POST", ch + "/typing", opTok, map[string]any{"sender_type": "operator"}, 204},
			oa{"POST", ch + "/typing", tok, map[string]any{"sender_type": "robot"}, 422},
			oa{"POST", "/chats/999999/typing", tok, nil, 404},

			oa{"POST", va + "/escalations", tok, map[string]any{"reason": "by_end_user_ask"}, 200},
			oa{"POST", va + "/escalations", tok, nil, 409},
			oa{"POST", va + "/escalations", tok, map[string]any{"force_escalate": true}, 200},
			oa{"POST", "/chats/999999/escalations", tok, nil, 404},
		)
		var esc struct {
			ID int64 `json:"id"`
		}
		f.json(oa{"POST", ch + "/escalations", tok, map[string]any{"reason": "r", "force_escalate": true}, 200}, &esc)
		e := fmt.Sprintf("%s/escalations/%d", ch, esc.ID)
		f.run(
			oa{"PATCH", e, tok, map[string]any{"deflection_channel": "email"}, 200},
			oa{"PATCH", e, tok, map[string]any{}, 422},
			oa{"PATCH", fmt.Sprintf("%s/escalations/%d", va, esc.ID), tok, map[string]any{"deflection_channel": "sms"}, 404},
			oa{"PATCH", ch, tok, map[string]any{"chat": map[string]any{"deflection_channel": "sms", "escalation_id": fmt.Sprint(esc.ID)}}, 200},
			oa{"PATCH", ch, tok, map[string]any{"chat": map[string]any{"status": "lost"}}, 422},
			oa{"PATCH", "/chats/999999", tok, map[string]any{"chat": map[string]any{"deflection_channel": "x"}}, 404},

			oa{"GET", ch + "/customer_flag", tok, nil, 200},
			oa{"POST", ch + "/customer_flag", tok, map[string]any{"verified_customer": true, "repeat_customers": true}, 200},
			oa{"POST", ch + "/customer_flag", tok, map[string]any{"repeat_customer": true, "repeat_customers": false}, 422},
			oa{"POST", ch + "/customer_flag", tok, map[string]any{}, 422},
			oa{"GET", "/chats/999999/customer_flag", tok, nil, 404},
			oa{"GET", "/chats/x/customer_flag", tok, nil, 422},
			oa{"POST", "/chats/999999/customer_flag", tok, map[string]any{"bad_actor": true}, 404},

			oa{"POST", ch + "/custom_data", tok, map[string]any{"signed": false, "data": map[string]any{
				"reserved_bad_actor": map[string]any{"label": "Bad", "value": false}, "plan": map[string]any{"label": "Plan", "value": "gold"}}}, 200},
			oa{"POST", ch + "/custom_data", tok, map[string]any{"signed": true, "signed_data": signedCustomData(t, tn.Secret)}, 200},
			oa{"POST", ch + "/custom_data", tok, map[string]any{"signed": true, "signed_data": signedCustomData(t, "another secret")}, 422},
			oa{"POST", ch + "/custom_data", tok, map[string]any{"signed": true}, 422},
			oa{"POST", "/chats/999999/custom_data", tok, map[string]any{"signed": false, "data": map[string]any{"f": map[string]any{"value": 1}}}, 404},

			oa{"POST", ch + "/end-user", tok, map[string]any{"identifier": "+390612345", "name": "Ann B", "email": "ann@example.com", "phone": "+390612345"}, 200},
			oa{"POST", ch + "/end-user", tok, map[string]any{"name": "no identifier"}, 422},
			oa{"POST", "/chats/999999/end-user", tok, map[string]any{"identifier": "x"}, 404},

			oa{"GET", "/stats/live", tok, nil, 200},
			oa{"GET", "/stats/live", opTok, nil, 403},
			oa{"GET", "/stats/chats?from=2026-01-01&to=2026-01-07&tz=Europe/Rome", tok, nil, 200},
			oa{"GET", "/stats/chats", tok, nil, 200},
			oa{"GET", "/stats/chats?tz=Mars/Olympus", tok, nil, 422},
			oa{"GET", "/stats/chats?from=2026-01-07&to=2026-01-01", tok, nil, 422},
			oa{"GET", "/stats/chats", opTok, nil, 403},
		)

		// A chat queued in another operator's menu is out of the operator's
		// sight: every route that addresses it is 403 to them.
		var colleague struct {
			OperatorID int64 `json:"operator_id"`
		}
		if r := env.Do(t, "POST", "/v1/operators", tn.Token, map[string]any{"name": "Colleague"}); r.Status != 201 {
			t.Fatalf("operator: %d %s", r.Status, r.Body)
		} else {
			r.JSON(t, &colleague)
		}
		var otherMenu, away, awayEsc struct {
			ID int64 `json:"id"`
		}
		f.json(oa{"POST", "/menus", tok, map[string]any{"name": "Colleague's", "operator_ids": []int64{colleague.OperatorID}}, 201}, &otherMenu)
		f.json(oa{"POST", "/chats", tok, map[string]any{"chat": map[string]any{"menu_id": otherMenu.ID}, "end_user": map[string]any{"identifier": "away"}}, 201}, &away)
		aw := fmt.Sprintf("/chats/%d", away.ID)
		f.json(oa{"POST", aw + "/escalations", tok, map[string]any{"reason": "r", "force_escalate": true}, 200}, &awayEsc)
		f.run(
			oa{"GET", aw, opTok, nil, 403},
			oa{"PATCH", aw, opTok, map[string]any{"chat": map[string]any{"status": "finished"}}, 403},
			oa{"POST", aw + "/message", opTok, map[string]any{"message": map[string]any{"content": "intruder"}}, 403},
			oa{"POST", aw + "/typing", opTok, nil, 403},
			oa{"POST", aw + "/escalations", opTok, map[string]any{"reason": "r", "force_escalate": true}, 403},
			oa{"PATCH", fmt.Sprintf("%s/escalations/%d", aw, awayEsc.ID), opTok, map[string]any{"deflection_channel": "sms"}, 403},
			oa{"POST", aw + "/photos", opTok, map[string]any{"photo": []any{map[string]any{"s3_path": fmt.Sprintf("chats/%d/%d/photo/x", tn.CompanyID, away.ID)}}}, 403},
			oa{"GET", aw + "/photos", opTok, nil, 403},
			oa{"POST", aw + "/photos/upload", opTok, nil, 403},
			oa{"POST", aw + "/videos", opTok, map[string]any{"video": map[string]any{"s3_path": fmt.Sprintf("chats/%d/%d/video/x", tn.CompanyID, away.ID)}}, 403},
			oa{"GET", aw + "/videos", opTok, nil, 403},
			oa{"POST", aw + "/videos/upload", opTok, nil, 403},
			oa{"GET", aw + "/customer_flag", opTok, nil, 403},
			oa{"POST", aw + "/customer_flag", opTok, map[string]any{"bad_actor": true}, 403},
			oa{"POST", aw + "/custom_data", opTok, map[string]any{"signed": false, "data": map[string]any{"f": map[string]any{"value": "v"}}}, 403},
			oa{"POST", aw + "/end-user", opTok, map[string]any{"identifier": "intruder", "name": "n"}, 403},
			oa{"GET", aw, tok, nil, 200},
		)

		// Media: an upload form, the client's POST to it, attach, list.
		var form struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		f.json(oa{"POST", ch + "/photos/upload", tok, nil, 200}, &form)
		oaUpload(t, form.URL, form.Fields, "image/png", []byte("\x89PNG\r\n\x1a\nphoto"))
		var video struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		f.json(oa{"POST", ch + "/videos/upload", opTok, map[string]any{"content_type": "video/webm"}, 200}, &video)
		oaUpload(t, video.URL, video.Fields, "", []byte("\x1a\x45\xdf\xa3webm video"))
		f.run(
			oa{"POST", ch + "/photos/upload", tok, map[string]any{"content_type": "text/html"}, 422},
			oa{"POST", ch + "/photos/upload", tok, map[string]any{"content_type": "image/png"}, 200}, // the chat's third form
			oa{"POST", ch + "/photos/upload", tok, nil, 413},                                         // past the chat's quota of 3
			oa{"POST", ch + "/photos", tok, map[string]any{"photo": []any{map[string]any{"s3_path": form.Fields["key"], "photo_type": "receipt"}}}, 200},
			oa{"POST", ch + "/photos", tok, map[string]any{"photo": []any{map[string]any{"s3_path": form.Fields["key"]}}}, 409}, // a key is attached once
			oa{"POST", ch + "/photos", tok, map[string]any{"photo": []any{map[string]any{"s3_path": form.Fields["key"] + "x"}}}, 422},
			oa{"POST", ch + "/photos", tok, map[string]any{"photo": []any{}}, 422},
			oa{"POST", "/chats/999999/photos", tok, map[string]any{"photo": []any{map[string]any{"s3_path": "x"}}}, 404},
			oa{"GET", ch + "/photos", tok, nil, 200},
			oa{"GET", "/chats/999999/photos", tok, nil, 404},
			oa{"POST", "/chats/999999/photos/upload", tok, nil, 404},
			oa{"POST", "/chats/x/photos/upload", tok, nil, 422},
			oa{"GET", "/chats/x/photos", tok, nil, 422},
			oa{"POST", ch + "/videos", opTok, map[string]any{"video": map[string]any{"gcs_path": video.Fields["key"]}}, 200},
			oa{"POST", ch + "/videos", tok, map[string]any{"video": map[string]any{}}, 422},
			oa{"POST", "/chats/999999/videos", tok, map[string]any{"video": map[string]any{"s3_path": "x"}}, 404},
			oa{"GET", ch + "/videos", tok, nil, 200},
			oa{"GET", "/chats/999999/videos", tok, nil, 404},
			oa{"POST", "/chats/999999/videos/upload", tok, nil, 404},
			oa{"POST", "/chats/x/videos/upload", tok, nil, 422},
			oa{"GET", "/chats/x/videos", tok, nil, 422},
		)

		// The chat ends: what needs a live chat is 409.
		f.run(
			oa{"PATCH", ch, tok, map[string]any{"finished_by_user_id": 1, "chat": map[string]any{"status": "finished"}}, 200},
			oa{"PATCH", ch, tok, map[string]any{"chat": map[string]any{"status": "queued"}}, 409},
			oa{"POST", ch + "/message", tok, map[string]any{"message": map[string]any{"content": "late"}}, 409},
			oa{"POST", ch + "/typing", tok, nil, 409},
			oa{"POST", ch + "/escalations", tok, nil, 409},
			oa{"POST", ch + "/photos/upload", tok, nil, 409},
			oa{"POST", ch + "/videos/upload", tok, nil, 409},
			oa{"POST", ch + "/photos", tok, map[string]any{"photo": []any{map[string]any{"s3_path": form.Fields["key"]}}}, 409},
			oa{"POST", ch + "/videos", tok, map[string]any{"video": map[string]any{"s3_path": video.Fields["key"]}}, 409},
			oa{"GET", ch, tok, nil, 200},
		)

		// Deliveries: the working hook delivered its events; the failing
		// one's stay pending (an hour's backoff).
		var delivered, pending []struct {
			ID int64 `json:"id"`
		}
		whEventually(t, "deliveries", func() bool {
			f.json(oa{"GET", wh + "/deliveries?status=delivered", tok, nil, 200}, &delivered)
			f.json(oa{"GET", wo + "/deliveries?status=pending&page=1&per_page=100", tok, nil, 200}, &pending)
			return len(delivered) > 0 && len(pending) > 0
		})
		f.run(
			oa{"POST", fmt.Sprintf("%s/deliveries/%d/redeliver", wo, pending[0].ID), tok, nil, 409},
			oa{"POST", fmt.Sprintf("%s/deliveries/%d/redeliver", wh, delivered[0].ID), tok, nil, 202},
			oa{"POST", fmt.Sprintf("%s/deliveries/%d/redeliver", wh, pending[0].ID), tok, nil, 404},
			oa{"POST", fmt.Sprintf("%s/deliveries/%d/redeliver", wh, delivered[0].ID), opTok, nil, 403},
			oa{"POST", fmt.Sprintf("%s/deliveries/x/redeliver", wh), tok, nil, 422},
			oa{"PATCH", wh, tok, map[string]any{"active": false}, 200},
		)
		whEventually(t, "the redelivery", func() bool {
			f.json(oa{"GET", wh + "/deliveries?status=pending", tok, nil, 200}, &pending)
			return len(pending) == 0
		})
		f.run(
			oa{"POST", fmt.Sprintf("%s/deliveries/%d/redeliver", wh, delivered[0].ID), tok, nil, 409}, // inactive
			oa{"DELETE", wh, opTok, nil, 403},
			oa{"DELETE", wh, tok, nil, 204},
			oa{"DELETE", wh, tok, nil, 404},
			oa{"DELETE", "/webhooks/x", tok, nil, 422},
		)
		// At most webhook.MaxWebhooks per company.
		for i := 1; i < webhook.MaxWebhooks; i++ {
			if r := env.Do(t, "POST", apps.Prefix+"/webhooks", tn.Token, map[string]any{"url": fmt.Sprintf("%s/%d", ok.URL, i), "active": false}); r.Status != 201 {
				t.Fatalf("webhook %d: %d %s", i, r.Status, r.Body)
			}
		}
		f.run(oa{"POST", "/webhooks", tok, map[string]any{"url": ok.URL + "/one-too-many"}, 409})
		rec.CheckCoverage(t)
	})
}

// signedCustomData is the seed's signed_data: an HS256 JWT of the company
// secret with a custom_data claim.
func signedCustomData(t *testing.T, secret string) string {
	t.Helper()
	now := time.Now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"custom_data": map[string]any{"reserved_verified_customer": map[string]any{"label": "Verified", "value": true}, "tier": map[string]any{"value": "2"}},
		"iat":         now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// oaUpload posts a file to a presigned form as a client would: the fields
// as given, the form's Content-Type replaced by contentType unless empty.
func oaUpload(t *testing.T, url string, fields map[string]string, contentType string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if k == "Content-Type" && contentType != "" {
			v = contentType
		}
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "upload")
	_, _ = fw.Write(data)
	_ = mw.Close()
	res, err := http.Post(url, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 && res.StatusCode != 204 {
		t.Fatalf("upload to %s: %d", url, res.StatusCode)
	}
}
