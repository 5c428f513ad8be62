package chat

import (
	"context"
	"errors"
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

func scanHit(r store.Scanner) (*SearchHit, error) {
	h := &SearchHit{Message: &Message{}}
	var created int64
	err := r.Scan(&h.Message.ID, &h.Message.ChatID, &h.Message.Seq, &h.Message.SenderType, &h.Message.SenderID, &h.Message.Type,
		&h.Message.Content, &created, &h.ChatStatus, &h.EndUserID, &h.EndUserName)
	h.Message.CreatedAt = time.UnixMilli(created).UTC()
	return h, err
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
		// An operator who sees few messages: read them chat by chat, in
		// one pass (store.MessageSearch.ScanChats): the same rows as the
		// two passes below, which would fetch every match of the company
		// older than their window to drop most of them by sight.
		narrow := false
		if !g.Staff() && fts.Scan != "" {
			var seen int64
			if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(c.last_seq), 0) FROM chats c WHERE c.company_id = ? AND `+sightSQL,
				cid, g.Operator, g.Operator).Scan(&seen); err != nil {
				return err
			}
			narrow = seen <= store.SearchSightMessages
		}
		where, args := fts.Where+" AND m.company_id = ?", []any{fts.Arg, cid}
		if narrow {
			where = fts.ScanChats("m", `SELECT c.id FROM chats c WHERE c.company_id = ? AND `+sightSQL) + " AND m.company_id = ?"
			args = []any{fts.Arg, cid, g.Operator, g.Operator, cid}
		}
		if before > 0 {
			where, args = where+" AND m.id < ?", append(args, before)
		}
		if !g.Staff() {
			where, args = where+" AND "+sightSQL, append(args, g.Operator, g.Operator)
		}
		find := func(cond, order string, condArgs []any, n int) ([]*SearchHit, error) {
			return store.Collect(ctx, q, scanHit, `SELECT m.id, m.chat_id, m.seq, m.sender_type, m.sender_id, m.type, m.content, m.created_at, c.status, c.end_user_id, e.name
				FROM `+fts.From+` JOIN chats c ON c.id = m.chat_id JOIN end_users e ON e.id = c.end_user_id
				WHERE `+where+cond+` ORDER BY `+order+` LIMIT ?`, append(append(append([]any{}, args...), condArgs...), n)...)
		}
		if fts.Window == 0 {
			out, err = find("", fts.Order, nil, limit)
			return err
		}
		if narrow {
			// OrderRest: not the primary key's order, whose backward
			// walk would read the company's messages, not the chats'.
			out, err = find("", fts.OrderRest, nil, limit)
			return err
		}
		// Two passes (store.MessageSearch): the newest Window messages of
		// the company, then the older ones if the page is not full.
		var floor int64
		fq, fargs := `SELECT id FROM chat_messages WHERE company_id = ?`, []any{cid}
		if before > 0 {
			fq, fargs = fq+` AND id < ?`, append(fargs, before)
		}
		err = q.QueryRow(ctx, fq+` ORDER BY company_id DESC, id DESC LIMIT 1 OFFSET ?`, append(fargs, fts.Window-1)...).Scan(&floor)
		if errors.Is(err, store.ErrNoRows) {
			out, err = find("", fts.Order, nil, limit) // fewer messages than the window
			return err
		} else if err != nil {
			return err
		}
		if out, err = find(" AND m.id >= ?", fts.Order, []any{floor}, limit); err != nil || len(out) == limit {
			return err
		}
		rest, err := find(" AND m.id < ?", fts.OrderRest, []any{floor}, limit-len(out))
		out = append(out, rest...)
		return err
	})
	if out == nil && err == nil {
		out = []*SearchHit{}
	}
	return out, err
}
