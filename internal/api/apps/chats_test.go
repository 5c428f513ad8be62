package apps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
)

// vaScript greets, asks for the order number, answers one question and
// hands over to a human when asked for one.
const vaScript = `def main(s):
    s.say("Hi! I am the shop assistant. What is your order number?")
    order = s.listen()
    s.set("order", order)
    s.say("Thanks, order %s is on its way." % order)
    while True:
        q = s.listen()
        if "human" in q:
            s.say("Connecting you to a person.")
            s.transfer("customer_asked")
        s.say("I can only tell you about order %s." % order)
`

type chatObj struct {
	ID           int64    `json:"id"`
	UUID         string   `json:"uuid"`
	Status       string   `json:"status"`
	StatusText   string   `json:"status_text"`
	Features     []string `json:"features"`
	CreatedAt    string   `json:"created_at"`
	EndsAt       *string  `json:"ends_at"`
	VirtualAgent *struct {
		ID     int64  `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"virtual_agent"`
	Agent *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"agent"`
	AllAgents         []map[string]any `json:"all_agents"`
	AllVirtualAgents  []map[string]any `json:"all_virtual_agents"`
	Lang              string           `json:"lang"`
	Menus             []map[string]any `json:"menus"`
	EndUser           map[string]any   `json:"end_user"`
	DeflectionChannel string           `json:"deflection_channel"`
	EscalationID      *int64           `json:"escalation_id"`
	FinishedByUserID  *int64           `json:"finished_by_user_id"`
}

type v1Messages struct {
	Messages []struct {
		Seq        int    `json:"seq"`
		SenderType string `json:"sender_type"`
		Content    string `json:"content"`
	} `json:"messages"`
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// TestChatEndToEnd: a chat created through /apps/api/v1 is answered by the
// menu's virtual agent, escalated by its script, routed to the online
// operator, answered through the live-chat gateway with an idempotency key,
// read through v1 and finished.
func TestChatEndToEnd(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Shop")
		must(t, env.Do(t, "PUT", "/api/v2/ext/agent-settings/script?agent_uuid="+tn.AgentUUID, tn.Token,
			map[string]any{"name": "main", "source": vaScript}), 200)
		must(t, env.Do(t, "POST", "/api/v2/ext/output-entity?agent_uuid="+tn.AgentUUID, tn.Token, map[string]any{"name": "order"}), 201)

		// The operator user goes online; a second operator stays offline.
		var ops struct {
			Operators []struct {
				OperatorID int64  `json:"operator_id"`
				Name       string `json:"name"`
			} `json:"operators"`
		}
		must(t, env.Do(t, "GET", "/v1/operators", tn.OperatorToken, nil), 200).JSON(t, &ops)
		me := ops.Operators[0].OperatorID
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me), tn.OperatorToken, map[string]any{"status": "online"}), 200)
		must(t, env.Do(t, "POST", "/v1/operators", tn.Token, map[string]any{"name": "Off Duty"}), 201)

		var menu struct {
			ID int64 `json:"id"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Orders", "agent_uuid": tn.AgentUUID}), 201).JSON(t, &menu)
		var project struct {
			ProjectUUID string `json:"project_uuid"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "Web", "menu_id": menu.ID}), 201).JSON(t, &project)

		var c chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{
			"chat":     map[string]any{"menu_id": menu.ID, "lang": "it", "email": "ann@example.com", "project_uuid": project.ProjectUUID, "context": map[string]any{"value": map[string]any{"foo": "bar"}}},
			"end_user": map[string]any{"phone": "+390612345"},
		}), 201).JSON(t, &c)
		if c.Status != "va_assigned" || c.VirtualAgent == nil || c.VirtualAgent.Status != "active" || c.Lang != "it" ||
			len(c.Menus) != 1 || c.EndUser["identifier"] != "+390612345" || len(c.AllVirtualAgents) != 1 || c.Agent != nil {
			t.Fatalf("created chat %+v", c)
		}
		chatPath := fmt.Sprintf("/apps/api/v1/chats/%d", c.ID)
		v1Path := fmt.Sprintf("/v1/chats/%d/messages", c.ID)
		messages := func() v1Messages {
			var m v1Messages
			must(t, env.Do(t, "GET", v1Path, tn.Token, nil), 200).JSON(t, &m)
			return m
		}
		eventually(t, "the virtual agent's greeting", func() bool { return len(messages().Messages) == 1 })
		say := func(text string) {
			must(t, env.Do(t, "POST", chatPath+"/message", tn.Token, map[string]any{"message": map[string]any{"type": "text", "content": text}}), 200)
		}
		say("A-42")
		eventually(t, "the answer about the order", func() bool { return len(messages().Messages) == 3 })
		if m := messages().Messages[2]; m.SenderType != "virtual_agent" || m.Content != "Thanks, order A-42 is on its way." {
			t.Fatalf("virtual agent said %+v", m)
		}

		// The node restarts between turns: the chat carries on where it was.
		say("where is it?")
		eventually(t, "the second answer", func() bool { return len(messages().Messages) == 5 })
		say("I want a human")
		eventually(t, "the escalation", func() bool {
			must(t, env.Do(t, "GET", chatPath, tn.Token, nil), 200).JSON(t, &c)
			return c.Status == "assigned"
		})
		if c.Agent == nil || c.Agent.ID != me || c.EscalationID == nil || len(c.AllAgents) != 1 || c.VirtualAgent != nil {
			t.Fatalf("escalated chat %+v", c)
		}
		got := messages().Messages
		if len(got) != 7 || got[6].Content != "Connecting you to a person." {
			t.Fatalf("transcript after escalation %+v", got)
		}

		// The operator answers through the gateway, retried with one key.
		gw := fmt.Sprintf("/v1/projects/%s/livechat/conversations/%s/messages/operator", project.ProjectUUID, c.UUID)
		body := map[string]any{"text": "Hello, this is Olga. Let me check A-42.", "idempotencyKey": "k-1", "companyUuid": tn.CompanyUUID, "itemUuid": "6f1c1c0e-8d0a-4a7e-9d43-2f5c7e1b9a01"}
		first := must(t, env.Do(t, "POST", gw, tn.OperatorToken, body), 201)
		again := must(t, env.Do(t, "POST", gw, tn.OperatorToken, body), 201)
		if string(first.Body) != string(again.Body) {
			t.Fatalf("idempotent retry answered differently:\n%s\n%s", first.Body, again.Body)
		}
		got = messages().Messages
		if len(got) != 8 || got[7].SenderType != "operator" || got[7].Content != body["text"] {
			t.Fatalf("v1 transcript %+v", got)
		}
		for i, m := range got {
			if m.Seq != i+1 {
				t.Fatalf("seq %d at %d", m.Seq, i)
			}
		}

		// Deflection, flags, custom data (signed and not), end user.
		var esc struct {
			ID     int64  `json:"id"`
			ChatID int64  `json:"chat_id"`
			Status string `json:"status"`
		}
		must(t, env.Do(t, "PATCH", fmt.Sprintf("%s/escalations/%d", chatPath, *c.EscalationID), tn.Token, map[string]any{"deflection_channel": "email"}), 200).JSON(t, &esc)
		if esc.ID != *c.EscalationID || esc.ChatID != c.ID || esc.Status != "assigned" {
			t.Fatalf("escalation %+v", esc)
		}
		must(t, env.Do(t, "POST", chatPath+"/customer_flag", tn.Token, map[string]any{"verified_customer": true, "repeat_customers": true}), 200)
		var flags map[string]bool
		must(t, env.Do(t, "GET", chatPath+"/customer_flag", tn.Token, nil), 200).JSON(t, &flags)
		if !flags["verified_customer"] || !flags["repeat_customer"] || flags["bad_actor"] {
			t.Fatalf("flags %v", flags)
		}
		must(t, env.Do(t, "POST", chatPath+"/custom_data", tn.Token, map[string]any{"signed": false, "data": map[string]any{
			"reserved_bad_actor": map[string]any{"label": "Bad", "value": true},
			"field1":             map[string]any{"label": "Plan", "value": "gold"},
		}}), 200)
		must(t, env.Do(t, "GET", chatPath+"/customer_flag", tn.Token, nil), 200).JSON(t, &flags)
		if !flags["bad_actor"] {
			t.Fatalf("reserved_bad_actor did not set the flag: %v", flags)
		}
		sign := func(secret string, claims jwt.MapClaims, method jwt.SigningMethod) string {
			s, err := jwt.NewWithClaims(method, claims).SignedString([]byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		now := time.Now()
		claims := jwt.MapClaims{"custom_data": map[string]any{"reserved_bad_actor": map[string]any{"value": false},
			"field2": map[string]any{"label": "Tier", "value": "2"}}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		var cd struct {
			CustomData map[string]map[string]any `json:"custom_data"`
		}
		must(t, env.Do(t, "POST", chatPath+"/custom_data", tn.Token, map[string]any{"signed": true, "signed_data": sign(tn.Secret, claims, jwt.SigningMethodHS256)}), 200).JSON(t, &cd)
		if cd.CustomData["field1"]["value"] != "gold" || cd.CustomData["field2"]["value"] != "2" {
			t.Fatalf("custom data %v", cd)
		}
		expired := jwt.MapClaims{"custom_data": map[string]any{"f": map[string]any{"value": 1}}, "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}
		for name, tok := range map[string]string{
			"wrong secret": sign("not-the-secret", claims, jwt.SigningMethodHS256),
			"expired":      sign(tn.Secret, expired, jwt.SigningMethodHS256),
			"HS512":        sign(tn.Secret, claims, jwt.SigningMethodHS512),
			"no iat":       sign(tn.Secret, jwt.MapClaims{"custom_data": map[string]any{}, "exp": now.Add(time.Hour).Unix()}, jwt.SigningMethodHS256),
		} {
			if r := env.Do(t, "POST", chatPath+"/custom_data", tn.Token, map[string]any{"signed": true, "signed_data": tok}); r.Status != 422 {
				t.Errorf("signed custom data, %s: %d %s", name, r.Status, r.Body)
			}
		}
		var accepted map[string]string
		must(t, env.Do(t, "POST", chatPath+"/end-user", tn.Token, map[string]any{"identifier": "+390612345", "name": "Ann Rossi", "email": "ann@rossi.it"}), 200).JSON(t, &accepted)
		if accepted["message"] != "accepted" {
			t.Fatalf("end-user answer %v", accepted)
		}
		if r := env.Do(t, "POST", chatPath+"/end-user", tn.Token, map[string]any{"name": "No Identifier"}); r.Status != 422 {
			t.Fatalf("end-user without identifier: %d %s", r.Status, r.Body)
		}
		var client struct {
			Name string `json:"name"`
		}
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/clients/%v", c.EndUser["id"]), tn.Token, nil), 200).JSON(t, &client)
		if client.Name != "Ann Rossi" {
			t.Fatalf("end user after update %+v", client)
		}

		// Finish with the finishing user and the deflection channel.
		must(t, env.Do(t, "PATCH", chatPath, tn.Token, map[string]any{"finished_by_user_id": me,
			"chat": map[string]any{"status": "finished", "deflection_channel": "sms"}}), 200).JSON(t, &c)
		if c.Status != "finished" || c.EndsAt == nil || c.FinishedByUserID == nil || *c.FinishedByUserID != me || c.DeflectionChannel != "sms" || c.Agent != nil {
			t.Fatalf("finished chat %+v", c)
		}
		if r := env.Do(t, "POST", chatPath+"/message", tn.Token, map[string]any{"message": map[string]any{"content": "late"}}); r.Status != 409 {
			t.Fatalf("message after finish: %d %s", r.Status, r.Body)
		}
		// The operator's load was released.
		var chats struct {
			Chats []chatObj `json:"chats"`
		}
		must(t, env.Do(t, "GET", "/apps/api/v1/chats?status=finished", tn.Token, nil), 200).JSON(t, &chats)
		if len(chats.Chats) != 1 || chats.Chats[0].ID != c.ID {
			t.Fatalf("finished chats %+v", chats)
		}
		// A listed chat is the same object GET shows.
		if l := chats.Chats[0]; len(l.Menus) != 1 || l.Menus[0]["name"] != "Orders" || len(l.AllAgents) != 1 || len(l.AllVirtualAgents) != 1 ||
			l.EndUser["identifier"] != "+390612345" || l.Status != "finished" || l.FinishedByUserID == nil {
			t.Fatalf("listed chat %+v", l)
		}
		var load int
		if err := env.DB.Reader().QueryRow(context.Background(), `SELECT load FROM operators WHERE id = ?`, me).Scan(&load); err != nil || load != 0 {
			t.Fatalf("operator load after finish: %d %v", load, err)
		}
	})
}

// TestVirtualAgentSurvivesRestart stops a node mid-conversation and starts
// another on the same database: the conversation goes on, nothing is said
// twice.
func TestVirtualAgentSurvivesRestart(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Shop")
		must(t, env.Do(t, "PUT", "/api/v2/ext/agent-settings/script?agent_uuid="+tn.AgentUUID, tn.Token,
			map[string]any{"name": "main", "source": vaScript}), 200)
		must(t, env.Do(t, "POST", "/api/v2/ext/output-entity?agent_uuid="+tn.AgentUUID, tn.Token, map[string]any{"name": "order"}), 201)
		ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: tn.CompanyID, Role: parley.RoleAdmin})
		var menu struct {
			ID int64 `json:"id"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Orders", "agent_uuid": tn.AgentUUID}), 201).JSON(t, &menu)
		var c chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"menu_id": menu.ID}, "end_user": map[string]any{"phone": "1"}}), 201).JSON(t, &c)
		count := func(e *testenv.Env) int {
			ms, err := e.Chats.ListMessages(ctx, c.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(ms)
		}
		eventually(t, "greeting", func() bool { return count(env) == 1 })
		must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), tn.Token, map[string]any{"message": map[string]any{"content": "B-7"}}), 200)
		eventually(t, "answer", func() bool { return count(env) == 3 })

		// Node 1 stops; the end user writes while no node runs (straight
		// into the database through a node without workers), then node 2
		// starts and its sweep answers.
		ctxStop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := env.Close(ctxStop); err != nil {
			t.Fatal(err)
		}
		quiet := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		if _, err := quiet.Chats.PostMessage(ctx, c.ID, "end_user", "and when?"); err != nil {
			t.Fatal(err)
		}
		env2 := testenv.Start(t, dsn)
		eventually(t, "answer after the restart", func() bool { return count(env2) == 5 })
		ms, _ := env2.Chats.ListMessages(ctx, c.ID, 0, 100)
		if !strings.Contains(ms[4].Content, "B-7") {
			t.Fatalf("the restarted agent forgot the order: %q", ms[4].Content)
		}
		time.Sleep(200 * time.Millisecond)
		if n := count(env2); n != 5 {
			t.Fatalf("%d messages after the restart, want 5 (nothing said twice)", n)
		}
		got, err := env2.Chats.GetChat(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "va_assigned" {
			t.Fatalf("status %s", got.Status)
		}
		// What the script set with s.set is kept on the chat.
		var raw string
		if err := env2.DB.Reader().QueryRow(ctx, `SELECT va_outputs FROM chats WHERE id = ?`, c.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var outs map[string]string
		if err := json.Unmarshal([]byte(raw), &outs); err != nil || outs["order"] != "B-7" {
			t.Fatalf("virtual agent outputs %q: %v", raw, err)
		}
	})
}
