package api_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestRefusedChatPatchChangesNothing: a PATCH of the chat platform that
// is refused (a status the chat cannot take) writes none of its other
// fields and emits no event: the next event a watcher gets is the next
// change that was made.
func TestRefusedChatPatchChangesNothing(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Patch")
		type chatObj struct {
			Status            string `json:"status"`
			DeflectionChannel string `json:"deflection_channel"`
			EscalationID      *int64 `json:"escalation_id"`
			FinishedByUserID  *int64 `json:"finished_by_user_id"`
		}
		open := func(phone string) (int64, []int64) {
			var c struct {
				ID int64 `json:"id"`
			}
			need(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{}, "end_user": map[string]any{"phone": phone}}), 201).JSON(t, &c)
			var escs []int64
			for range 2 {
				var e struct {
					ID int64 `json:"id"`
				}
				need(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/escalations", c.ID), tn.Token,
					map[string]any{"reason": "why", "force_escalate": true}), 200).JSON(t, &e)
				escs = append(escs, e.ID)
			}
			return c.ID, escs
		}
		ended, endedEscs := open("+15550001")
		need(t, env.Do(t, "PATCH", fmt.Sprintf("/apps/api/v1/chats/%d", ended), tn.Token, map[string]any{"chat": map[string]any{"status": "finished"}}), 200)
		live, liveEscs := open("+15550002")

		ws := dialStream(t, env, tn.Token)
		cases := []struct {
			name   string
			chat   int64
			body   map[string]any
			status int
		}{
			{"an ended chat back to the queue", ended, map[string]any{"chat": map[string]any{"deflection_channel": "web", "escalation_id": endedEscs[0], "status": "queued"}}, 409},
			{"an ended chat back to its virtual agent", ended, map[string]any{"chat": map[string]any{"deflection_channel": "web", "status": "va_assigned"}}, 409},
			{"a chat assigned by an api user", live, map[string]any{"chat": map[string]any{"deflection_channel": "web", "escalation_id": liveEscs[0], "status": "assigned"}}, 422},
			{"a chat finished by another company's user", live, map[string]any{"finished_by_user_id": 99999, "chat": map[string]any{"deflection_channel": "web", "escalation_id": liveEscs[0], "status": "finished"}}, 422},
		}
		for _, tc := range cases {
			path := fmt.Sprintf("/apps/api/v1/chats/%d", tc.chat)
			var before, after chatObj
			need(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &before)
			seq := ws.subscribe(t, tc.chat)
			if r := env.Do(t, "PATCH", path, tn.Token, tc.body); r.Status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			}
			need(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &after)
			if after.Status != before.Status || after.DeflectionChannel != before.DeflectionChannel || *after.EscalationID != *before.EscalationID ||
				after.FinishedByUserID != nil {
				t.Errorf("%s: refused, yet the chat changed from %+v to %+v", tc.name, before, after)
			}
			// The next change is the next event: nothing came between.
			need(t, env.Do(t, "POST", path+"/customer_flag", tn.Token, map[string]any{"bad_actor": true}), 200)
			f := ws.nextEvent(t)
			if f.ChatID != tc.chat || f.Seq != seq+1 || f.Event != "chat.updated" || f.Data["customer_flag"] == nil {
				t.Errorf("%s: the first event after the refused PATCH is %+v, want the flags' (seq %d)", tc.name, f, seq+1)
			}
			ws.send(t, map[string]any{"type": "unsubscribe", "chat_ids": []int64{tc.chat}})
			for ws.next(t).Type != "unsubscribed" {
			}
		}

		// An accepted PATCH writes all of it at once.
		var c chatObj
		need(t, env.Do(t, "PATCH", fmt.Sprintf("/apps/api/v1/chats/%d", live), tn.Token,
			map[string]any{"chat": map[string]any{"deflection_channel": "sms", "escalation_id": liveEscs[0], "status": "dismissed"}}), 200).JSON(t, &c)
		if c.Status != "dismissed" || c.DeflectionChannel != "sms" || c.EscalationID == nil || *c.EscalationID != liveEscs[0] {
			t.Fatalf("accepted PATCH: %+v", c)
		}
	})
}
