package realtime_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestStreamLiveDelivery: a message posted over HTTP reaches a subscriber
// of its chat and an "all" subscriber of the company, once each.
func TestStreamLiveDelivery(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		chatID := newChat(t, env, tn.Token)

		one := dial(t, env.URL(), tn.Token, false)
		got := one.subscribe(chatID, -1) // from now
		if len(got) != 1 || got[0].Seq != 1 {
			t.Fatalf("from-now subscription: %v; want only synced at seq 1 (chat.created)", got)
		}
		all := dial(t, env.URL(), tn.Token, true) // token in the query
		all.send(map[string]any{"type": "subscribe", "all": true, "id": 7})
		if f := all.expect("subscribed"); !f.All || string(f.ID) != "7" {
			t.Fatalf("subscribed %s", f)
		}

		post(t, env, tn.Token, chatID, "Hello, stream")
		for _, c := range []*wsClient{one, all} {
			f := c.expect("event")
			if f.ChatID != chatID || f.Seq != 2 || f.Event != "message.created" || f.Data["content"] != "Hello, stream" ||
				f.Data["chat_id"] != float64(chatID) || f.Data["sender_type"] != "end_user" || f.At == "" {
				t.Fatalf("event %s", f)
			}
			if _, err := time.Parse(time.RFC3339Nano, f.At); err != nil {
				t.Fatalf("at %q: %v", f.At, err)
			}
			if rest := c.ping(); len(rest) != 0 {
				t.Fatalf("more frames: %v", rest)
			}
		}
		// Subscribed to the chat and to all: each event still comes once.
		one.send(map[string]any{"type": "subscribe", "all": true})
		one.expect("subscribed")
		post(t, env, tn.Token, chatID, "once")
		if f := one.expect("event"); f.Seq != 3 {
			t.Fatalf("event %s", f)
		}
		if rest := one.ping(); len(rest) != 0 {
			t.Fatalf("duplicate: %v", rest)
		}
		// Unsubscribing stops the chat's events.
		one.send(map[string]any{"type": "unsubscribe", "chat_ids": []int64{chatID}, "all": true})
		if f := one.expect("unsubscribed"); !slices.Equal(f.ChatIDs, []int64{chatID}) || !f.All || f.Reason != "requested" {
			t.Fatalf("unsubscribed %s", f)
		}
		post(t, env, tn.Token, chatID, "unheard")
		if rest := one.ping(); len(rest) != 0 {
			t.Fatalf("frames after unsubscribe: %v", rest)
		}
	})
}

// TestStreamResume: a client that comes back with the last seq it saw gets
// exactly the events it missed, in order, then live ones.
func TestStreamResume(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		chatID := newChat(t, env, tn.Token) // seq 1: chat.created

		c := dial(t, env.URL(), tn.Token, false)
		c.subscribe(chatID, -1)
		post(t, env, tn.Token, chatID, "m2")
		last := c.expect("event").Seq // 2
		c.ws.CloseNow()

		for i := 3; i <= 7; i++ { // missed while away
			post(t, env, tn.Token, chatID, fmt.Sprintf("m%d", i))
		}
		c = dial(t, env.URL(), tn.Token, false)
		got := c.subscribe(chatID, last)
		if seqs := eventSeqs(got); !slices.Equal(seqs, []int64{3, 4, 5, 6, 7}) {
			t.Fatalf("resumed with seqs %v, want 3..7", seqs)
		}
		for _, f := range got[:5] {
			if f.Data["content"] != fmt.Sprintf("m%d", f.Seq) || f.Event != "message.created" {
				t.Fatalf("replayed %s", f)
			}
		}
		if s := got[len(got)-1]; s.Type != "synced" || s.Seq != 7 {
			t.Fatalf("last frame %s, want synced at 7", s)
		}
		post(t, env, tn.Token, chatID, "m8")
		if f := c.expect("event"); f.Seq != 8 {
			t.Fatalf("live after resume %s", f)
		}
		// From the start: every event of the chat, chat.created first.
		c2 := dial(t, env.URL(), tn.Token, false)
		got = c2.subscribe(chatID, 0)
		if seqs := eventSeqs(got); len(seqs) != 8 || seqs[0] != 1 || got[0].Event != "chat.created" {
			t.Fatalf("from 0: %v", got)
		}
		// A seq the chat has not reached is corrected by a resync.
		c3 := dial(t, env.URL(), tn.Token, false)
		got = c3.subscribe(chatID, 99)
		if got[0].Type != "resync" || got[0].Seq != 8 || got[0].Reason != "after_too_large" {
			t.Fatalf("after 99: %v", got)
		}
	})
}

// TestStreamResumeUnderLoad subscribes with after=0 while messages are
// being posted: replay and live events must join with no gap and no
// duplicate.
func TestStreamResumeUnderLoad(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		chatID := newChat(t, env, tn.Token)
		ctx := adminCtx(tn)
		for i := range 300 {
			if _, err := env.Chats.PostMessage(ctx, chatID, chat.SenderEndUser, fmt.Sprint("before ", i)); err != nil {
				t.Fatal(err)
			}
		}
		const writers, each = 4, 50
		var wg sync.WaitGroup
		startPosting := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-startPosting
				for i := range each {
					if _, err := env.Chats.PostMessage(ctx, chatID, chat.SenderEndUser, fmt.Sprint("during ", w, i)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		c := dial(t, env.URL(), tn.Token, false)
		close(startPosting)
		c.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatID, "after": 0}}})
		c.expect("subscribed")
		wg.Wait()
		total := int64(1 + 300 + writers*each)
		var seqs []int64
		deadline := time.After(30 * time.Second)
		for int64(len(seqs)) < total {
			select {
			case f := <-c.frames:
				switch f.Type {
				case "event":
					seqs = append(seqs, f.Seq)
				case "synced":
				default:
					t.Fatalf("frame %s", f)
				}
			case <-deadline:
				t.Fatalf("got %d of %d events", len(seqs), total)
			}
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("event %d has seq %d: gap or duplicate (seqs around: %v)", i, s, seqs[max(0, i-3):min(len(seqs), i+3)])
			}
		}
		for _, f := range c.ping() {
			if f.Type == "event" {
				t.Fatalf("extra event %s", f)
			}
		}
	})
}

// TestStreamResyncAfterPurge: when the log no longer holds what the client
// missed, it is told to resync, and live events go on after the chat's seq.
func TestStreamResyncAfterPurge(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		chatID := newChat(t, env, tn.Token)
		for i := range 3 {
			post(t, env, tn.Token, chatID, fmt.Sprint("old ", i))
		}
		if _, err := env.Chats.PurgeEvents(context.Background(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		c := dial(t, env.URL(), tn.Token, false)
		got := c.subscribe(chatID, 1)
		if len(got) != 2 || got[0].Type != "resync" || got[0].ChatID != chatID || got[0].Seq != 4 || got[0].Reason != "events_purged" {
			t.Fatalf("after purge: %v; want resync at seq 4, then synced", got)
		}
		post(t, env, tn.Token, chatID, "new")
		if f := c.expect("event"); f.Seq != 5 || f.Data["content"] != "new" {
			t.Fatalf("live after resync %s", f)
		}
		// Up to date already: nothing to replay, no resync either.
		c2 := dial(t, env.URL(), tn.Token, false)
		if got := c2.subscribe(chatID, 5); len(got) != 1 || got[0].Seq != 5 {
			t.Fatalf("up to date: %v", got)
		}
	})
}

// TestStreamTenantIsolation: another company's chat cannot be subscribed
// to, and its events never reach an "all" subscription.
func TestStreamTenantIsolation(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a, b := env.NewTenant(t, "Acme"), env.NewTenant(t, "Bolt")
		chatA, chatB := newChat(t, env, a.Token), newChat(t, env, b.Token)

		cb := dial(t, env.URL(), b.Token, false)
		cb.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatA, "after": 0}}})
		if f := cb.expect("error"); f.Code != "not_found" || f.ChatID != chatA {
			t.Fatalf("B subscribing to A's chat: %s", f)
		}
		opB := dial(t, env.URL(), b.OperatorToken, false)
		opB.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatA}}})
		if f := opB.expect("error"); f.Code != "not_found" {
			t.Fatalf("B's operator subscribing to A's chat: %s", f)
		}
		cb.send(map[string]any{"type": "subscribe", "all": true})
		cb.expect("subscribed")
		opB.send(map[string]any{"type": "subscribe", "all": true})
		opB.expect("subscribed")

		post(t, env, a.Token, chatA, "A's secret")
		post(t, env, b.Token, chatB, "B's own")
		if f := cb.expect("event"); f.ChatID != chatB || f.Data["content"] != "B's own" {
			t.Fatalf("B's all subscription got %s", f)
		}
		if f := opB.expect("event"); f.ChatID != chatB {
			t.Fatalf("B's operator got %s", f)
		}
		for _, c := range []*wsClient{cb, opB} {
			for _, f := range c.ping() {
				t.Fatalf("B got %s", f)
			}
		}
		// And an end-user token of A's chat only works for A's chat.
		tok := streamToken(t, env, a.Token, chatA)
		eu := dial(t, env.URL(), tok, true)
		eu.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatB, "after": 0}}})
		if f := eu.expect("error"); f.Code != "not_found" {
			t.Fatalf("end user of A subscribing to B's chat: %s", f)
		}
		// B cannot get a token for A's chat.
		if r := env.Do(t, "POST", "/v1/stream/tokens", b.Token, map[string]any{"chat_id": chatA}); r.Status != 404 {
			t.Fatalf("token for another company's chat: %d %s", r.Status, r.Body)
		}
	})
}

// TestStreamEndUserToken: a chat-scoped token watches its chat only, and
// only the events meant for end users.
func TestStreamEndUserToken(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		mine, other := newChat(t, env, tn.Token), newChat(t, env, tn.Token)
		tok := streamToken(t, env, tn.Token, mine)

		if r := env.Do(t, "POST", "/v1/stream/tokens", tn.OperatorToken, map[string]any{"chat_id": mine}); r.Status != 403 {
			t.Fatalf("operator issuing a stream token: %d", r.Status)
		}
		for body, want := range map[string]int{`{"chat_id": 0}`: 400, `{"chat_id": "x"}`: 400, `{}`: 400, `[`: 400, `{"chat_id": 999999}`: 404} {
			if r := env.Do(t, "POST", "/v1/stream/tokens", tn.Token, body); r.Status != want {
				t.Errorf("token body %s: status %d, want %d", body, r.Status, want)
			}
		}
		if r := env.Do(t, "POST", "/v1/stream/tokens", "", map[string]any{"chat_id": mine}); r.Status != 401 {
			t.Fatalf("token without auth: %d", r.Status)
		}
		if r := env.Do(t, "GET", "/v1/stream/tokens", tn.Token, nil); r.Status != 405 {
			t.Fatalf("GET tokens: %d", r.Status)
		}
		// The end-user token is no access token.
		if r := env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d", mine), tok, nil); r.Status != 401 {
			t.Fatalf("end-user token on the v1 API: %d", r.Status)
		}

		eu := dial(t, env.URL(), tok, true)
		eu.send(map[string]any{"type": "subscribe", "all": true})
		if f := eu.expect("error"); f.Code != "forbidden" {
			t.Fatalf("end user subscribing to all: %s", f)
		}
		eu.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": other}}})
		if f := eu.expect("error"); f.Code != "not_found" || f.ChatID != other {
			t.Fatalf("end user subscribing to another chat: %s", f)
		}
		eu.subscribe(mine, -1)

		post(t, env, tn.Token, other, "not yours")
		bad := true
		if _, err := env.Chats.SetFlags(adminCtx(tn), mine, chat.FlagsUpdate{BadActor: &bad}); err != nil {
			t.Fatal(err)
		}
		post(t, env, tn.Token, mine, "yours")
		f := eu.expect("event")
		if f.ChatID != mine || f.Data["content"] != "yours" || f.Seq != 3 {
			t.Fatalf("end user got %s; want the message at seq 3 (the flags change at 2 is staff-only)", f)
		}
		if rest := eu.ping(); len(rest) != 0 {
			t.Fatalf("end user got more: %v", rest)
		}
		// Resuming skips the staff-only event too.
		eu2 := dial(t, env.URL(), tok, false) // header works as well
		if seqs := eventSeqs(eu2.subscribe(mine, 0)); !slices.Equal(seqs, []int64{1, 3}) {
			t.Fatalf("end user's replay: seqs %v, want 1 and 3", seqs)
		}
	})
}

// TestStreamOperatorVisibility: an operator sees the queue and their own
// chats, not chats other operators took.
func TestStreamOperatorVisibility(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		if _, err := env.Users.CreateUser(context.Background(), tn.CompanyID, "acme-op2", tn.Password, "operator"); err != nil {
			t.Fatal(err)
		}
		op2Token, _ := env.Login(t, "acme-op2", tn.Password)
		op1 := dial(t, env.URL(), tn.OperatorToken, false)
		op2 := dial(t, env.URL(), op2Token, true)
		for _, c := range []*wsClient{op1, op2} {
			c.send(map[string]any{"type": "subscribe", "all": true})
			c.expect("subscribed")
		}
		chatID := newChat(t, env, tn.Token) // queued: both see it
		for _, c := range []*wsClient{op1, op2} {
			if f := c.expect("event"); f.Event != "chat.created" || f.ChatID != chatID {
				t.Fatalf("queued chat: %s", f)
			}
		}
		op1.subscribe(chatID, -1) // a queued chat may be watched explicitly

		// Operator 1 takes it: both see the change, only op1 what follows.
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", chatID), tn.OperatorToken, map[string]any{"status": "assigned"}), 200)
		for _, c := range []*wsClient{op1, op2} {
			if f := c.expect("event"); f.Event != "chat.status" || f.Data["status"] != "assigned" {
				t.Fatalf("assignment: %s", f)
			}
		}
		post(t, env, tn.OperatorToken, chatID, "op1 talking")
		if f := op1.expect("event"); f.Data["content"] != "op1 talking" {
			t.Fatalf("op1 got %s", f)
		}
		if rest := op1.ping(); len(rest) != 0 {
			t.Fatalf("op1 got the event twice (chat and all subscriptions): %v", rest)
		}
		if rest := op2.ping(); len(rest) != 0 {
			t.Fatalf("op2 sees op1's chat: %v", rest)
		}
		op2.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatID, "after": 0}}})
		if f := op2.expect("error"); f.Code != "forbidden" || f.ChatID != chatID {
			t.Fatalf("op2 subscribing to op1's chat: %s", f)
		}

		// Back to the queue: visible to both again.
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", chatID), tn.OperatorToken, map[string]any{"status": "open"}), 200)
		for _, c := range []*wsClient{op1, op2} {
			if f := c.expect("event"); f.Event != "chat.status" || f.Data["status"] != "queued" {
				t.Fatalf("requeue: %s", f)
			}
		}
		// Operator 2 takes it: op1's explicit subscription ends with the
		// change that took the chat out of their sight.
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", chatID), op2Token, map[string]any{"status": "assigned"}), 200)
		if f := op1.expect("event"); f.Event != "chat.status" {
			t.Fatalf("op1: %s", f)
		}
		if f := op1.expect("unsubscribed"); f.Reason != "not_visible" || !slices.Equal(f.ChatIDs, []int64{chatID}) {
			t.Fatalf("op1: %s", f)
		}
		op2.expect("event")
		post(t, env, op2Token, chatID, "op2 talking")
		if f := op2.expect("event"); f.Data["content"] != "op2 talking" {
			t.Fatalf("op2 got %s", f)
		}
		if rest := op1.ping(); len(rest) != 0 {
			t.Fatalf("op1 still sees the chat: %v", rest)
		}
		// Staff see everything.
		staff := dial(t, env.URL(), tn.Token, false)
		if seqs := eventSeqs(staff.subscribe(chatID, 0)); len(seqs) != 6 {
			t.Fatalf("staff replay: %v", seqs)
		}
	})
}

// TestStreamBadTokens: authentication fails with 401 before the upgrade.
func TestStreamBadTokens(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		for name, tc := range map[string]struct {
			token string
			query bool
		}{
			"none":            {"", false},
			"garbage header":  {"not-a-token", false},
			"garbage query":   {"not-a-token", true},
			"refresh token":   {tn.RefreshToken, true},
			"tampered access": {tn.Token[:len(tn.Token)-3] + "abc", false},
		} {
			_, res, err := tryDial(env.URL(), tc.token, tc.query)
			if err == nil || res == nil || res.StatusCode != 401 {
				status := 0
				if res != nil {
					status = res.StatusCode
				}
				t.Errorf("%s: err %v, status %d; want 401", name, err, status)
			}
		}
		// A plain GET with a good token is refused by the upgrade.
		req, _ := http.NewRequest("GET", env.URL()+"/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer "+tn.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUpgradeRequired {
			t.Fatalf("plain GET: %d", res.StatusCode)
		}
		if r := env.Do(t, "POST", "/v1/stream", tn.Token, nil); r.Status != 405 {
			t.Fatalf("POST /v1/stream: %d", r.Status)
		}
	})
}

// TestStreamBadFrames: a bad frame is answered with an error frame, and
// the connection stays usable.
func TestStreamBadFrames(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		chatID := newChat(t, env, tn.Token)
		c := dial(t, env.URL(), tn.Token, false)
		for frame, code := range map[string]string{
			`not json`:                          "malformed",
			`[1,2]`:                             "malformed",
			`{"type":"subscribe","chats":"x"}`:  "malformed",
			`{"type":"frobnicate"}`:             "invalid",
			`{}`:                                "invalid",
			`{"type":"subscribe"}`:              "invalid",
			`{"type":"subscribe","chats":[{}]}`: "invalid",
			`{"type":"unsubscribe"}`:            "invalid",
			`{"type":"subscribe","chats":[{"chat_id":99999}]}`:        "not_found",
			`{"type":"subscribe","chats":[{"chat_id":1,"after":-1}]}`: "invalid",
		} {
			c.send(frame)
			if f := c.expect("error"); f.Code != code || f.Message == "" {
				t.Errorf("frame %s: got %s, want code %s", frame, f, code)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		if f := c.expect("error"); f.Code != "malformed" {
			t.Fatalf("binary frame: %s", f)
		}
		if rest := c.ping(); len(rest) != 0 {
			t.Fatalf("frames: %v", rest)
		}
		c.subscribe(chatID, 0) // still usable
	})
}

// TestStreamSlowConsumer: a client that stops reading is closed with code
// 4008 instead of silently losing events, and resumes where it stopped.
func TestStreamSlowConsumer(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		env.Realtime.QueueFrames, env.Realtime.QueueBytes = 8, 64<<10
		tn := env.NewTenant(t, "Acme")
		chatID := newChat(t, env, tn.Token)
		ws, _, err := tryDial(env.URL(), tn.Token, false)
		if err != nil {
			t.Fatal(err)
		}
		c := start(t, ws, false)
		c.send(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatID}}})
		time.Sleep(200 * time.Millisecond) // subscribed
		big := strings.Repeat("x", 9000)
		ctx := adminCtx(tn)
		n := 0
		for ; n < 3000 && env.Realtime.Stats().SlowConsumers.Load() == 0; n++ {
			if _, err := env.Chats.PostMessage(ctx, chatID, chat.SenderEndUser, big); err != nil {
				t.Fatal(err)
			}
		}
		if env.Realtime.Stats().SlowConsumers.Load() == 0 {
			t.Fatalf("posted %d big messages to a client that reads nothing and it was not closed", n)
		}
		c.startReading()
		var last int64
		for f := range c.frames {
			if f.Type == "event" {
				if f.Seq != last+1 && last != 0 {
					t.Fatalf("gap before the close: %d after %d", f.Seq, last)
				}
				last = f.Seq
			}
		}
		if code := websocket.CloseStatus(<-c.closed); code != 4008 {
			t.Fatalf("closed with %d, want 4008", code)
		}
		// Resume from the last event received: the rest comes, in order.
		c2 := dial(t, env.URL(), tn.Token, false)
		c2.ws.SetReadLimit(1 << 20)
		got := c2.subscribe(chatID, last)
		seqs := eventSeqs(got)
		if int64(len(seqs)) != int64(n+1)-last || (len(seqs) > 0 && seqs[0] != last+1) {
			t.Fatalf("resumed after %d: %d events, want %d", last, len(seqs), int64(n+1)-last)
		}
	})
}

// TestStreamOutlivesHTTPTimeouts: the server's request timeouts do not cut
// a WebSocket; and a token in the query never reaches the log.
func TestStreamOutlivesHTTPTimeouts(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Configure: func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	}})
	tn := env.NewTenant(t, "Acme")
	chatID := newChat(t, env, tn.Token)

	mux := http.NewServeMux()
	env.Realtime.Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	go hs.Serve(ln)
	defer hs.Close()
	c := dial(t, "http://"+ln.Addr().String(), tn.Token, true)
	c.subscribe(chatID, -1)
	time.Sleep(time.Second)
	post(t, env, tn.Token, chatID, "still there")
	if f := c.expect("event"); f.Data["content"] != "still there" {
		t.Fatalf("event %s", f)
	}
	c.ping()

	// Through the real server's middleware: the path is logged, the token
	// is not.
	c2 := dial(t, env.URL(), tn.Token, true)
	c2.ping()
	c2.ws.Close(websocket.StatusNormalClosure, "")
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `"path":"/v1/stream"`) {
		t.Fatalf("no log line of the stream request:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), tn.Token) || strings.Contains(logs.String(), "access_token") {
		t.Fatalf("the log holds the token:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStreamPingsSilentClients: a silent client that answers pings stays;
// one that does not is closed.
func TestStreamPingsSilentClients(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	env.Realtime.PingEvery = 200 * time.Millisecond // before the first connection starts the hub
	tn := env.NewTenant(t, "Acme")
	alive := dial(t, env.URL(), tn.Token, false) // its reader answers pings
	ws, _, err := tryDial(env.URL(), tn.Token, false)
	if err != nil {
		t.Fatal(err)
	}
	deaf := start(t, ws, false) // reads nothing, so it never answers
	deadline := time.Now().Add(5 * time.Second)
	for env.Realtime.Stats().Connections.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections; the one that does not answer pings was not closed", env.Realtime.Stats().Connections.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // several ping rounds
	alive.ping()
	if n := env.Realtime.Stats().Connections.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
	_ = deaf
}
