package chat_test

import (
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestInactivityRule: an assigned chat whose end user has not answered the
// operator is closed after its menu's rule (the default, its own minutes,
// or never), with a system notice, status timed_out and the operator's
// capacity back; the end user's answer restarts the clock; a chat nobody
// has answered is left to the silence timeout; the sweep says when the
// next chat falls due.
func TestInactivityRule(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := w.ctx
		t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
		now := t0
		w.svc.Now = func() time.Time { return now }
		w.svc.Inactivity = 10 * time.Minute
		op := w.operator(t, "ann", "online", 5)
		byDefault := w.menu(t, "default", "")
		never := w.menu(t, "never", "")
		zero := 0
		if _, err := w.svc.UpdateMenu(ctx, never, chat.MenuUpdate{Inactivity: &chat.InactivitySetting{Minutes: &zero}}); err != nil {
			t.Fatal(err)
		}
		three := 3
		quick, err := w.svc.CreateMenu(ctx, chat.NewMenu{Name: "quick", InactivityMinutes: &three})
		if err != nil {
			t.Fatal(err)
		}
		bad := -1
		if _, err := w.svc.CreateMenu(ctx, chat.NewMenu{Name: "bad", InactivityMinutes: &bad}); err == nil {
			t.Error("a negative rule was taken")
		}
		a, b, c := w.open(t, byDefault), w.open(t, never), w.open(t, quick.ID)
		r := &chat.Router{Chats: w.svc, Log: w.log}
		if n, err := r.RouteOnce(ctx); err != nil || n != 3 {
			t.Fatalf("RouteOnce: %d, %v", n, err)
		}
		post := func(id int64, sender string) {
			t.Helper()
			if _, err := w.svc.PostMessage(ctx, id, sender, "hello from "+sender); err != nil {
				t.Fatalf("post in chat %d: %v", id, err)
			}
		}
		sweep := func(at time.Time, wantClosed int, wantNext time.Time) {
			t.Helper()
			now = at
			n, next, err := w.svc.CloseInactiveChats(ctx, at)
			if err != nil || n != wantClosed || !next.Equal(wantNext) {
				t.Fatalf("sweep at +%s: closed %d, next %v, %v; want %d, next %v", at.Sub(t0), n, next, err, wantClosed, wantNext)
			}
		}
		status := func(id int64) string {
			t.Helper()
			ch, err := w.svc.GetChat(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return ch.Status
		}

		// Unanswered chats wait for nobody: the rule leaves them alone.
		post(a.ID, chat.SenderEndUser)
		sweep(t0.Add(time.Hour), 0, time.Time{})
		now = t0
		for _, id := range []int64{a.ID, b.ID, c.ID} {
			post(id, chat.SenderOperator)
		}
		sweep(t0.Add(2*time.Minute), 0, t0.Add(3*time.Minute))
		d, err := w.svc.ChatDetail(ctx, mustChat(t, w, a.ID))
		if err != nil || d.QuietSince == nil || !d.QuietSince.Equal(t0) || d.CloseAt == nil || !d.CloseAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("chat a's detail: %+v, %v", d, err)
		}
		sweep(t0.Add(3*time.Minute), 1, t0.Add(10*time.Minute))
		if s := status(c.ID); s != chat.StatusTimedOut {
			t.Fatalf("the quick menu's chat: %s, want timed_out", s)
		}
		ms, err := w.svc.ListMessages(ctx, c.ID, 0, 100)
		if err != nil || len(ms) == 0 || ms[len(ms)-1].SenderType != chat.SenderSystem {
			t.Fatalf("the closed chat's last message: %+v, %v", ms, err)
		}

		// The end user answers: the clock stops, and the operator's next
		// answer starts it again.
		now = t0.Add(5 * time.Minute)
		post(a.ID, chat.SenderEndUser)
		now = t0.Add(6 * time.Minute)
		post(a.ID, chat.SenderOperator)
		post(a.ID, chat.SenderOperator) // a second answer does not move the clock
		sweep(t0.Add(11*time.Minute), 0, t0.Add(16*time.Minute))
		sweep(t0.Add(16*time.Minute), 1, time.Time{})
		if s := status(a.ID); s != chat.StatusTimedOut {
			t.Fatalf("the default menu's chat: %s, want timed_out", s)
		}
		// A rule of 0 never closes.
		sweep(t0.Add(100*time.Hour), 0, time.Time{})
		if s := status(b.ID); s != chat.StatusAssigned {
			t.Fatalf("the never menu's chat: %s, want assigned", s)
		}
		o, err := w.svc.GetOperator(ctx, op)
		if err != nil || o.Load != 1 {
			t.Fatalf("the operator's load: %+v, %v; want 1 (the chats closed freed theirs)", o, err)
		}
	})
}

func mustChat(t *testing.T, w *world, id int64) *chat.Chat {
	t.Helper()
	c, err := w.svc.GetChat(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
