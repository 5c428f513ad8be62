package chat_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestBulkTranscript: a chat opened with BulkTranscript holds the messages
// the one-by-one path stores (seq, sender, type, content), over more than
// one INSERT's rows, its last_seq is moved on (the next post follows the
// transcript), and search finds both chats' messages alike.
func TestBulkTranscript(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		senders := []string{chat.SenderEndUser, chat.SenderOperator, chat.SenderVirtualAgent, chat.SenderSystem}
		turns := make([]chat.Turn, 230)
		for i := range turns {
			turns[i] = chat.Turn{SenderType: senders[i%len(senders)], Content: fmt.Sprintf("turn %d of walrus%d", i, i%7)}
		}
		read := func(bulk bool) (*chat.Chat, []*chat.Message) {
			t.Helper()
			o, err := w.svc.OpenChat(w.ctx, chat.NewChat{EndUser: chat.NewEndUser{Identifier: "bulk"}, Transcript: turns, BulkTranscript: bulk})
			if err != nil {
				t.Fatalf("open (bulk %v): %v", bulk, err)
			}
			var all []*chat.Message
			for {
				page, err := w.svc.ListMessages(w.ctx, o.Chat.ID, len(all), 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					return o.Chat, all
				}
				all = append(all, page...)
			}
		}
		one, slow := read(false)
		bulk, fast := read(true)
		if one.LastSeq != len(turns) || bulk.LastSeq != len(turns) || len(slow) != len(turns) || len(fast) != len(turns) {
			t.Fatalf("last_seq %d and %d, %d and %d messages; want %d", one.LastSeq, bulk.LastSeq, len(slow), len(fast), len(turns))
		}
		for i := range slow {
			a, b := slow[i], fast[i]
			if a.Seq != b.Seq || a.SenderType != b.SenderType || a.Type != b.Type || a.Content != b.Content || a.UUID != b.UUID ||
				(a.SenderID == nil) != (b.SenderID == nil) || (a.SenderID != nil && *a.SenderID != *b.SenderID) {
				t.Fatalf("message %d: one by one %+v, bulk %+v", i, a, b)
			}
			if i > 0 && b.ID <= fast[i-1].ID {
				t.Fatalf("message %d: id %d after %d: ids must follow seq", i, b.ID, fast[i-1].ID)
			}
		}
		m, err := w.svc.PostMessage(w.ctx, bulk.ID, chat.SenderEndUser, "after the transcript")
		if err != nil || m.Seq != len(turns)+1 {
			t.Fatalf("post after a bulk transcript: %+v, %v; want seq %d", m, err, len(turns)+1)
		}
		hits, err := w.svc.SearchMessages(w.ctx, "walrus3 turn", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		per := map[int64]int{}
		for _, h := range hits {
			per[h.Message.ChatID]++
		}
		if want := len(turns) / 7; len(per) != 2 || per[one.ID] < want || per[one.ID] != per[bulk.ID] {
			t.Fatalf("search hits per chat %v; want the same (at least %d) in chats %d and %d", per, want, one.ID, bulk.ID)
		}
	})
}
