package chat_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestOpenChat: the one way every family opens a chat. The end user named
// by an identifier is found or created (once, under concurrency); the
// project's menu is the chat's unless one is given; Resume gives back the
// visitor's live chat; a refused request leaves nothing behind.
func TestOpenChat(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := w.ctx
		menu := w.menu(t, "sales", "")
		p, err := w.svc.CreateProjectWithMenu(ctx, "site", menu)
		if err != nil {
			t.Fatal(err)
		}

		// Concurrent first contacts of one visitor: one end user.
		const n = 8
		opened := make([]*chat.Opened, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				opened[i], err = w.svc.OpenChat(ctx, chat.NewChat{ProjectID: p.ID, EndUser: chat.NewEndUser{Identifier: "visitor-1"}})
				if err != nil {
					t.Errorf("open %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for _, o := range opened {
			if o.EndUser.ID != opened[0].EndUser.ID || o.Resumed || o.Chat.MenuID == nil || *o.Chat.MenuID != menu ||
				o.Chat.ProjectID == nil || *o.Chat.ProjectID != p.ID || o.EndUser.Name != "visitor-1" {
				t.Fatalf("opened %+v (end user %+v), want the one end user, project %d, menu %d", o.Chat, o.EndUser, p.ID, menu)
			}
		}

		// Resume: the newest live chat of the visitor in the project.
		o, err := w.svc.OpenChat(ctx, chat.NewChat{ProjectID: p.ID, EndUser: chat.NewEndUser{Identifier: "visitor-1"}, Resume: true})
		newest := int64(0)
		for _, o := range opened {
			newest = max(newest, o.Chat.ID)
		}
		if err != nil || !o.Resumed || o.Chat.ID != newest {
			t.Fatalf("resume: %+v, %v; want chat %d", o, err, newest)
		}
		if _, err := w.svc.UpdateChatStatus(ctx, o.Chat.ID, chat.StatusFinished, nil); err != nil {
			t.Fatal(err)
		}
		again, err := w.svc.OpenChat(ctx, chat.NewChat{ProjectID: p.ID, EndUser: chat.NewEndUser{Identifier: "visitor-1"}, Resume: true})
		if err != nil || again.Chat.ID == o.Chat.ID {
			t.Fatalf("resumed an ended chat: %+v, %v", again, err)
		}

		// A project of no one's: refused, and no end user is created.
		_, err = w.svc.OpenChat(ctx, chat.NewChat{ProjectID: p.ID + 1000, EndUser: chat.NewEndUser{Identifier: "visitor-2"}})
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("unknown project: %v", err)
		}
		if _, err := w.svc.CreateClient(ctx, chat.NewEndUser{Identifier: "visitor-2", Name: "probe"}); err != nil {
			t.Fatalf("the refused request left its end user behind: %v", err)
		}
	})
}

// TestIdempotentPost: retries of a post under one key store one message and
// answer it, whatever order they commit in; a retry with another request
// is refused; the clock decides what the key's row records.
func TestIdempotentPost(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		c := w.open(t, 0)
		const n = 10
		ids := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				m, replayed, err := w.svc.PostMessageWith(w.ctx, c.ID, chat.SenderEndUser, "once",
					chat.PostOptions{IdempotencyKey: "k", RequestHash: "h"})
				if err != nil || replayed {
					t.Errorf("post %d: replayed %v, %v", i, replayed, err)
					return
				}
				ids[i] = m.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("message ids %v: want one message", ids)
			}
		}
		ms, err := w.svc.ListMessages(w.ctx, c.ID, 0, 0)
		if err != nil || len(ms) != 1 {
			t.Fatalf("%d messages (%v), want 1", len(ms), err)
		}
		_, _, err = w.svc.PostMessageWith(w.ctx, c.ID, chat.SenderEndUser, "other", chat.PostOptions{IdempotencyKey: "k", RequestHash: "h2"})
		if !errors.Is(err, chat.ErrIdempotencyKeyReused) {
			t.Fatalf("key reused with another request: %v", err)
		}
		// The message and the event carry the transaction's one instant.
		at := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
		w.svc.Now = func() time.Time { return at }
		defer func() { w.svc.Now = nil }()
		m, err := w.svc.PostMessage(w.ctx, c.ID, chat.SenderEndUser, "later")
		if err != nil || !m.CreatedAt.Equal(at) {
			t.Fatalf("posted at %v (%v), want %v", m.CreatedAt, err, at)
		}
		evs, _, _, err := w.svc.EventsAfter(w.ctx, c.ID, 0, 0)
		if err != nil || !evs[len(evs)-1].CreatedAt.Equal(at) {
			t.Fatalf("event at %v (%v), want %v", evs[len(evs)-1].CreatedAt, err, at)
		}
	})
}
