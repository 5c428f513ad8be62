package chat

import (
	"context"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// The operators' inbox: one read returns every list item the console shows
// (the customer's name, the last message, how long the customer has been
// waiting, the caller's unread count, the labels), so that a list of 500
// open chats is one request and a handful of queries, whatever its length.
// Every view is cut by the caller's sight (sight.go).

// Inbox views.
const (
	ViewMine   = "mine"   // chats assigned to the calling operator
	ViewQueue  = "queue"  // queued chats the caller may take
	ViewAll    = "all"    // every live chat the caller sees
	ViewClosed = "closed" // ended chats the caller sees (an operator: theirs)
)

// Inbox sort orders.
const (
	SortWaiting = "waiting" // longest waiting first (open views' default)
	SortNewest  = "newest"  // newest chat first (closed view's default)
	SortOldest  = "oldest"
)

// InboxFilter selects the inbox's list items.
type InboxFilter struct {
	View      string // one of the views; "" is all
	MenuID    int64  // 0: any menu
	Label     string // "": any
	EndUserID int64  // a customer's conversations, any status (View ignored)
	Sort      string
	Cursor    int64 // newest: ids below it; oldest: above it; waiting: none
	Limit     int
}

// InboxItem is one chat as the inbox lists it.
type InboxItem struct {
	ChatID       int64
	Status       string
	OperatorID   *int64
	MenuID       *int64
	CreatedAt    time.Time
	EndedAt      *time.Time
	EndUserID    int64
	EndUserName  string
	LastMessage  *InboxMessage // nil: no message yet
	WaitingSince *time.Time    // the customer's oldest unanswered message, or entering the queue
	// CustomerQuietSince is when an operator answered an assigned chat and
	// the customer has not written since (the inactivity rule's clock).
	CustomerQuietSince *time.Time
	Unread             int
	Labels             []string
}

// InboxMessage is the last message of an inbox item.
type InboxMessage struct {
	Seq        int
	SenderType string
	Type       string
	Content    string // clipped to InboxPreview runes
	CreatedAt  time.Time
}

// InboxPreview is how much of the last message a list item carries.
const InboxPreview = 200

// liveStatuses and finalStatuses as SQL lists (constants, not input).
var (
	liveSQL  = `('` + StatusVA + `', '` + StatusQueued + `', '` + StatusAssigned + `')`
	finalSQL = `('` + StatusFinished + `', '` + StatusDismissed + `', '` + StatusTimedOut + `')`
)

// Inbox lists the caller's inbox. An operator sees, per sight.go, the
// chats assigned to them (live or ended) and the queue of their menus; the
// unread count is theirs (read markers, MarkRead). Admin and api callers
// see the company; their unread count is the customer's messages since the
// last answer, since they keep no markers.
func (s *Service) Inbox(ctx context.Context, f InboxFilter) ([]*InboxItem, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if f.View == "" {
		f.View = ViewAll
	}
	switch f.View {
	case ViewMine, ViewQueue, ViewAll, ViewClosed:
	default:
		return nil, parley.FieldError("view", "must be mine, queue, all or closed, got %q", parley.Clip(f.View))
	}
	if f.Sort == "" {
		f.Sort = SortWaiting
		if f.View == ViewClosed || f.EndUserID != 0 {
			f.Sort = SortNewest
		}
	}
	switch f.Sort {
	case SortWaiting, SortNewest, SortOldest:
	default:
		return nil, parley.FieldError("sort", "must be waiting, newest or oldest, got %q", parley.Clip(f.Sort))
	}
	if f.Sort == SortWaiting && f.Cursor != 0 {
		return nil, parley.FieldError("cursor", "pages the newest and oldest orders only")
	}
	if f.Label != "" {
		if f.Label, err = validLabel(f.Label); err != nil {
			return nil, parley.FieldError("label", "%s", parley.ErrorFields(err)["labels"])
		}
	}
	limit := ChatFilter{Limit: f.Limit}.PageSize()
	var out []*InboxItem
	err = s.DB.Read(ctx, func(q store.Querier) error {
		g, err := sightOf(ctx, q, cid, s.now())
		if err != nil {
			return err
		}
		if f.View == ViewMine && g.Staff() {
			return parley.FieldError("view", "mine lists an operator's own chats; the caller is not an operator")
		}
		where, args := []string{"c.company_id = ?"}, []any{cid}
		switch {
		case f.EndUserID != 0:
			where, args = append(where, "c.end_user_id = ?"), append(args, f.EndUserID)
		case f.View == ViewMine:
			where, args = append(where, "c.operator_id = ? AND c.status = ?"), append(args, g.Operator, StatusAssigned)
		case f.View == ViewQueue:
			where, args = append(where, "c.status = ?"), append(args, StatusQueued)
		case f.View == ViewAll:
			where = append(where, "c.status IN "+liveSQL)
		case f.View == ViewClosed:
			where = append(where, "c.status IN "+finalSQL)
		}
		if !g.Staff() {
			where, args = append(where, sightSQL), append(args, g.Operator, g.Operator)
		}
		if f.MenuID != 0 {
			where, args = append(where, "c.menu_id = ?"), append(args, f.MenuID)
		}
		if f.Label != "" {
			where, args = append(where, "EXISTS (SELECT 1 FROM chat_labels l WHERE l.chat_id = c.id AND l.label = ?)"), append(args, f.Label)
		}
		order := ""
		switch f.Sort {
		case SortNewest:
			order = "id DESC"
			if f.Cursor != 0 {
				where, args = append(where, "c.id < ?"), append(args, f.Cursor)
			}
		case SortOldest:
			order = "id"
			if f.Cursor != 0 {
				where, args = append(where, "c.id > ?"), append(args, f.Cursor)
			}
		case SortWaiting:
			// Chats nobody waits on last; then the longest wait first.
			order = "CASE WHEN waiting IS NULL THEN 1 ELSE 0 END, waiting, id"
		}
		// read: the caller's read marker, or for staff the last answer.
		read := "(SELECT MAX(a.seq) FROM chat_messages a WHERE a.chat_id = c.id AND a.sender_type IN ('" + SenderOperator + "', '" + SenderVirtualAgent + "'))"
		readArgs := []any{}
		if !g.Staff() {
			read = "(SELECT r.read_seq FROM chat_reads r WHERE r.chat_id = c.id AND r.operator_id = ?)"
			readArgs = append(readArgs, g.Operator)
		}
		answered := "(SELECT MAX(a.seq) FROM chat_messages a WHERE a.chat_id = c.id AND a.sender_type IN ('" + SenderOperator + "', '" + SenderVirtualAgent + "'))"
		query := `SELECT * FROM (SELECT c.id, c.status, c.operator_id, c.menu_id, c.created_at, c.ended_at, c.queued_at, c.end_user_id, e.name,
			CASE WHEN c.status = '` + StatusAssigned + `' THEN c.awaiting_since END AS quiet,
			m.seq, m.sender_type, m.type, m.content, m.created_at,
			(SELECT COUNT(*) FROM chat_messages u WHERE u.chat_id = c.id AND u.sender_type = '` + SenderEndUser + `' AND u.seq > COALESCE(` + read + `, 0)) AS unread,
			CASE WHEN c.status = '` + StatusQueued + `' THEN c.queued_at
				WHEN c.status = '` + StatusAssigned + `' THEN (SELECT MIN(w.created_at) FROM chat_messages w WHERE w.chat_id = c.id
					AND w.sender_type = '` + SenderEndUser + `' AND w.seq > COALESCE(` + answered + `, 0))
				END AS waiting
			FROM chats c
			JOIN end_users e ON e.id = c.end_user_id
			LEFT JOIN chat_messages m ON m.chat_id = c.id AND m.seq = c.last_seq AND c.last_seq > 0
			WHERE ` + strings.Join(where, " AND ") + `) x ORDER BY ` + order + ` LIMIT ?`
		all := append(append(readArgs, args...), limit)
		byID := map[int64]*InboxItem{}
		out, err = store.Collect(ctx, q, func(r store.Scanner) (*InboxItem, error) {
			it := &InboxItem{Labels: []string{}}
			var created, queued int64
			var ended, waiting, mCreated, quiet *int64
			var mSeq *int
			var mSender, mType, mContent *string
			err := r.Scan(&it.ChatID, &it.Status, &it.OperatorID, &it.MenuID, &created, &ended, &queued, &it.EndUserID, &it.EndUserName, &quiet,
				&mSeq, &mSender, &mType, &mContent, &mCreated, &it.Unread, &waiting)
			if err != nil {
				return nil, err
			}
			it.CreatedAt, it.EndedAt, it.WaitingSince, it.CustomerQuietSince = ms(created), msPtr(ended), msPtr(waiting), msPtr(quiet)
			if mSeq != nil {
				it.LastMessage = &InboxMessage{Seq: *mSeq, SenderType: *mSender, Type: *mType, Content: clipRunes(*mContent, InboxPreview), CreatedAt: ms(*mCreated)}
			}
			byID[it.ChatID] = it
			return it, nil
		}, query, all...)
		if err != nil || len(out) == 0 {
			return err
		}
		return loadLabels(ctx, q, cid, byID)
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*InboxItem{}
	}
	return out, nil
}

// loadLabels fills the labels of the listed chats in one query.
func loadLabels(ctx context.Context, q store.Querier, cid int64, byID map[int64]*InboxItem) error {
	ids := make([]any, 0, len(byID)+1)
	ids = append(ids, cid)
	for id := range byID {
		ids = append(ids, id)
	}
	type row struct {
		chat  int64
		label string
	}
	rows, err := store.Collect(ctx, q, func(r store.Scanner) (x row, err error) {
		err = r.Scan(&x.chat, &x.label)
		return x, err
	}, `SELECT chat_id, label FROM chat_labels WHERE company_id = ? AND chat_id IN (?`+strings.Repeat(", ?", len(byID)-1)+`) ORDER BY label`, ids...)
	for _, x := range rows {
		byID[x.chat].Labels = append(byID[x.chat].Labels, x.label)
	}
	return err
}

// clipRunes cuts s to at most n runes.
func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// MarkRead moves the calling operator's read marker of a chat they see to
// seq (at most the chat's last message; a marker never moves back). It
// answers the marker as stored.
func (s *Service) MarkRead(ctx context.Context, chatID int64, seq int) (int, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return 0, err
	}
	if seq < 0 {
		return 0, parley.FieldError("seq", "must be a message seq (0 or more)")
	}
	var stored int
	err = s.write(ctx, cid, func(t *tx) error {
		c, g, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		if g.Staff() {
			return parley.Errorf(parley.EFORBIDDEN, "Only operators keep read markers.")
		}
		seq = min(seq, c.LastSeq)
		if _, err := t.Exec(ctx, `INSERT INTO chat_reads (chat_id, operator_id, company_id, read_seq, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (chat_id, operator_id) DO UPDATE SET read_seq = CASE WHEN excluded.read_seq > chat_reads.read_seq
				THEN excluded.read_seq ELSE chat_reads.read_seq END, updated_at = excluded.updated_at`,
			chatID, g.Operator, t.cid, seq, t.nowMS()); err != nil {
			return err
		}
		return t.QueryRow(ctx, `SELECT read_seq FROM chat_reads WHERE chat_id = ? AND operator_id = ?`, chatID, g.Operator).Scan(&stored)
	})
	return stored, err
}
