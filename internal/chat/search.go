package chat

import (
	"context"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Full-text search over the text messages of the chats the caller sees:
// every word of the query must occur in the message (case folded, whole
// words). The index is the store's (store.SearchMessages: FTS5 on SQLite,
// tsvector and GIN on PostgreSQL); this file adds the company and the
// caller's sight (sight.go), so an operator finds messages of their own
// chats, ended ones too, and of the queue of their menus, nothing else.

// SearchHit is one message found, with what a result list shows of its chat.
type SearchHit struct {
	Message     *Message
	ChatStatus  string
	EndUserID   int64
	EndUserName string
}

// MaxSearchPage bounds one page of search results.
const MaxSearchPage = 100

// SearchMessages returns up to limit messages matching query, newest
// first, with ids below before (0: from the newest).
func (s *Service) SearchMessages(ctx context.Context, query string, before int64, limit int) ([]*SearchHit, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := parley.ValidText("q", query, 500); err != nil {
		return nil, err
	}
	words := store.SearchWords(query)
	if len(words) == 0 {
		return nil, parley.FieldError("q", "must hold at least one word")
	}
	if limit <= 0 || limit > MaxSearchPage {
		limit = 20
	}
	var out []*SearchHit
	err = s.DB.Read(ctx, func(q store.Querier) error {
		g, err := sightOf(ctx, q, cid, s.now())
		if err != nil {
			return err
		}
		fts := s.DB.SearchMessages("m", words)
		where, args := fts.Where+" AND m.company_id = ?", []any{fts.Arg, cid}
		if before > 0 {
			where, args = where+" AND m.id < ?", append(args, before)
		}
		if !g.Staff() {
			where, args = where+" AND "+sightSQL, append(args, g.Operator, g.Operator)
		}
		out, err = store.Collect(ctx, q, func(r store.Scanner) (*SearchHit, error) {
			h := &SearchHit{Message: &Message{}}
			var created int64
			err := r.Scan(&h.Message.ID, &h.Message.ChatID, &h.Message.Seq, &h.Message.SenderType, &h.Message.SenderID, &h.Message.Type,
				&h.Message.Content, &created, &h.ChatStatus, &h.EndUserID, &h.EndUserName)
			h.Message.CreatedAt = time.UnixMilli(created).UTC()
			return h, err
		}, `SELECT m.id, m.chat_id, m.seq, m.sender_type, m.sender_id, m.type, m.content, m.created_at, c.status, c.end_user_id, e.name
			FROM `+fts.From+` JOIN chats c ON c.id = m.chat_id JOIN end_users e ON e.id = c.end_user_id
			WHERE `+where+` ORDER BY `+fts.Order+` LIMIT ?`, append(args, limit)...)
		return err
	})
	if out == nil && err == nil {
		out = []*SearchHit{}
	}
	return out, err
}
