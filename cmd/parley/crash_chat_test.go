package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestKill9UnderMessageLoad posts messages to 20 chats from 40 concurrent
// posters (two per chat, each posting one message after another), kills the
// server with SIGKILL in the middle, restarts it and checks every chat:
// every acknowledged message is there once with the seq it was answered
// with, seqs run 1..n without gaps, each poster's messages are in the order
// it posted them, and the only messages nobody acknowledged are the posts
// that were in flight at the kill, at most one per poster. The chat event
// log is checked too: 1..event_seq without gaps, one message.created per
// message, matching it.
func TestKill9UnderMessageLoad(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		c := adminJSON(t, dsn, "create-company", "--name", "Acme")
		adminJSON(t, dsn, "create-user", "--company", c["company_uuid"].(string), "--login", "api1", "--password", "s3cret-pass", "--role", "api")

		cmd, base := startServe(t, dsn)
		token := loginHTTP(t, base, "api1", "s3cret-pass")

		const nChats, perChat = 20, 2
		const killAfter = 2000 // acknowledged messages before the kill
		chats := make([]int64, nChats)
		for i := range chats {
			var cl struct {
				ClientID int64 `json:"client_id"`
			}
			if st := call(t, base, token, "POST", "/v1/clients", map[string]any{"name": fmt.Sprintf("client %d", i)}, &cl); st != 201 {
				t.Fatalf("create client: %d", st)
			}
			var ch struct {
				ChatID int64 `json:"chat_id"`
			}
			if st := call(t, base, token, "POST", "/v1/chats", map[string]any{"client_id": cl.ClientID}, &ch); st != 201 {
				t.Fatalf("create chat: %d", st)
			}
			chats[i] = ch.ChatID
		}

		type ack struct {
			chat int64
			seq  int
		}
		type poster struct {
			chat     int64
			acked    []string // contents in the order they were answered
			seqs     map[string]int
			inFlight string // the post that got no answer, if any
		}
		posters := make([]*poster, nChats*perChat)
		client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: len(posters)}}
		defer client.CloseIdleConnections()
		var (
			nAcked   atomic.Int64
			killed   atomic.Bool
			killOnce sync.Once
			reached  = make(chan struct{})
			wg       sync.WaitGroup
		)
		for p := range posters {
			po := &poster{chat: chats[p%nChats], seqs: map[string]int{}}
			posters[p] = po
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					content := fmt.Sprintf("p%02d-%06d", p, i)
					body, _ := json.Marshal(map[string]any{"sender_type": "client", "content": content})
					req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/chats/%d/messages", base, po.chat), bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					var m struct {
						Seq     int    `json:"seq"`
						Content string `json:"content"`
					}
					if err == nil {
						if res.StatusCode == 201 {
							err = json.NewDecoder(res.Body).Decode(&m)
						} else {
							err = fmt.Errorf("status %d", res.StatusCode)
						}
						res.Body.Close()
					}
					if err != nil {
						// A post the server never answered may or may not
						// have been stored.
						po.inFlight = content
						if !killed.Load() {
							t.Errorf("poster %d before the kill: %v", p, err)
						}
						return
					}
					if m.Content != content || m.Seq < 1 {
						t.Errorf("poster %d: posted %q, answered %+v", p, content, m)
						return
					}
					po.acked = append(po.acked, content)
					po.seqs[content] = m.Seq
					if nAcked.Add(1) == killAfter {
						killOnce.Do(func() { close(reached) })
					}
				}
			}()
		}
		select {
		case <-reached:
		case <-waitGroupDone(&wg):
			t.Fatalf("the posters stopped after %d messages, before the kill", nAcked.Load())
		}
		killed.Store(true)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		wg.Wait()
		if t.Failed() {
			return
		}
		total := 0
		for _, po := range posters {
			total += len(po.acked)
		}
		t.Logf("%d messages acknowledged before and around the kill", total)

		_, base = startServe(t, dsn)
		token = loginHTTP(t, base, "api1", "s3cret-pass")

		type stored struct {
			MessageID  int64  `json:"message_id"`
			Seq        int    `json:"seq"`
			SenderType string `json:"sender_type"`
			Content    string `json:"content"`
		}
		byChat := map[int64][]stored{}
		for _, id := range chats {
			var all []stored
			for {
				var page struct {
					Messages []stored `json:"messages"`
				}
				after := 0
				if len(all) > 0 {
					after = all[len(all)-1].Seq
				}
				if st := call(t, base, token, "GET", fmt.Sprintf("/v1/chats/%d/messages?after_seq=%d&limit=1000", id, after), nil, &page); st != 200 {
					t.Fatalf("list messages of chat %d: %d", id, st)
				}
				if len(page.Messages) == 0 {
					break
				}
				all = append(all, page.Messages...)
			}
			byChat[id] = all
		}

		// Per chat: seqs 1..n, each content once.
		where := map[string]ack{} // content -> where it is stored
		for _, id := range chats {
			for i, m := range byChat[id] {
				if m.Seq != i+1 {
					t.Errorf("chat %d: message %d has seq %d (gap or disorder)", id, i+1, m.Seq)
					break
				}
				if m.SenderType != "client" {
					t.Errorf("chat %d seq %d: sender %q", id, m.Seq, m.SenderType)
				}
				if prev, dup := where[m.Content]; dup {
					t.Errorf("message %q stored twice: chat %d seq %d and chat %d seq %d", m.Content, prev.chat, prev.seq, id, m.Seq)
				}
				where[m.Content] = ack{id, m.Seq}
			}
		}
		// Per poster: every acknowledged message where it was answered;
		// its messages in the order it posted them; nothing else but the
		// post in flight at the kill.
		seen, landed := 0, 0
		for p, po := range posters {
			for _, content := range po.acked {
				got, ok := where[content]
				switch {
				case !ok:
					t.Errorf("acknowledged %q (chat %d seq %d) is lost", content, po.chat, po.seqs[content])
				case got != (ack{po.chat, po.seqs[content]}):
					t.Errorf("acknowledged %q as chat %d seq %d, stored as chat %d seq %d", content, po.chat, po.seqs[content], got.chat, got.seq)
				}
			}
			var mine []stored
			for _, m := range byChat[po.chat] {
				if strings.HasPrefix(m.Content, fmt.Sprintf("p%02d-", p)) {
					mine = append(mine, m)
				}
			}
			seen += len(mine)
			for i, m := range mine {
				n, _ := strconv.Atoi(strings.TrimPrefix(m.Content, fmt.Sprintf("p%02d-", p)))
				if n != i {
					t.Errorf("poster %d: its message number %d is %q at seq %d: out of posting order", p, i, m.Content, m.Seq)
					break
				}
			}
			switch extra := len(mine) - len(po.acked); {
			case extra == 1 && mine[len(mine)-1].Content == po.inFlight:
				// The post in flight at the kill committed; its answer was lost.
				landed++
			case extra != 0:
				t.Errorf("poster %d: %d messages stored, %d acknowledged, in flight %q", p, len(mine), len(po.acked), po.inFlight)
			}
		}
		if seen != len(where) {
			t.Errorf("%d messages stored, %d of them by the posters", len(where), seen)
		}
		t.Logf("%d messages stored; %d of the %d posts in flight at the kill landed unanswered", len(where), landed, len(posters))

		// The event log, read from the database.
		db := openStore(t, dsn)
		ctx := context.Background()
		for _, id := range chats {
			var eventSeq, lastSeq int
			if err := db.Reader().QueryRow(ctx, `SELECT event_seq, last_seq FROM chats WHERE id = ?`, id).Scan(&eventSeq, &lastSeq); err != nil {
				t.Fatal(err)
			}
			msgs := byChat[id]
			if lastSeq != len(msgs) {
				t.Errorf("chat %d: last_seq %d, %d messages", id, lastSeq, len(msgs))
			}
			rows, err := db.Reader().Query(ctx, `SELECT seq, type, data FROM chat_events WHERE chat_id = ? ORDER BY seq`, id)
			if err != nil {
				t.Fatal(err)
			}
			n, created := 0, map[int]bool{}
			for rows.Next() {
				var seq int
				var typ, data string
				if err := rows.Scan(&seq, &typ, &data); err != nil {
					t.Fatal(err)
				}
				n++
				if seq != n {
					t.Errorf("chat %d: event %d has seq %d", id, n, seq)
					break
				}
				if n == 1 && typ != "chat.created" {
					t.Errorf("chat %d: first event %s", id, typ)
				}
				if typ != "message.created" {
					continue
				}
				var d struct {
					MessageID int64  `json:"message_id"`
					Seq       int    `json:"seq"`
					Content   string `json:"content"`
				}
				if err := json.Unmarshal([]byte(data), &d); err != nil {
					t.Fatalf("chat %d event %d: %v", id, seq, err)
				}
				if d.Seq < 1 || d.Seq > len(msgs) || created[d.Seq] {
					t.Errorf("chat %d event %d: message.created for seq %d (of %d), again: %v", id, seq, d.Seq, len(msgs), created[d.Seq])
					continue
				}
				created[d.Seq] = true
				if m := msgs[d.Seq-1]; m.MessageID != d.MessageID || m.Content != d.Content {
					t.Errorf("chat %d event %d: message.created %+v, stored %+v", id, seq, d, m)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != eventSeq {
				t.Errorf("chat %d: %d events, event_seq %d", id, n, eventSeq)
			}
			if len(created) != len(msgs) {
				t.Errorf("chat %d: %d message.created events, %d messages", id, len(created), len(msgs))
			}
		}

		// The counters carry on after the restart.
		ids := append([]int64{}, chats...)
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			var m struct {
				Seq int `json:"seq"`
			}
			if st := call(t, base, token, "POST", fmt.Sprintf("/v1/chats/%d/messages", id), map[string]any{"sender_type": "client", "content": "after restart"}, &m); st != 201 {
				t.Fatalf("post after restart to chat %d: %d", id, st)
			}
			if want := len(byChat[id]) + 1; m.Seq != want {
				t.Errorf("chat %d: first message after the restart has seq %d, want %d", id, m.Seq, want)
			}
		}
	})
}

// waitGroupDone is closed when wg's count drops to zero.
func waitGroupDone(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}
