package chat

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// The inactivity rule (issue 14): an assigned chat whose operator answered
// and whose end user has not written since (awaiting_since) holds the
// operator's capacity for nobody. After its menu's inactivity_minutes (the
// server's default, Service.Inactivity, for a menu without one; 0: never)
// the chat is closed: a system notice, status timed_out with reason
// "inactivity", the operator released. The silence timeout (Timeout) is
// another rule: it ends any live chat, answered or not.

// DefaultInactivity is the server's default inactivity rule.
const DefaultInactivity = 10 * time.Minute

// MaxInactivityMinutes bounds a menu's rule (a week).
const MaxInactivityMinutes = 7 * 24 * 60

// End reasons, in the chat.status event that ends a chat and stored with
// it (end_reason): the inactivity rule closed it, or the end user ended it.
const (
	ReasonInactivity = "inactivity"
	ReasonEndUser    = "end_user"
)

func validInactivity(m *int) error {
	if m != nil && (*m < 0 || *m > MaxInactivityMinutes) {
		return parley.FieldError("inactivity_minutes", "must be 0 (never) to %d minutes", MaxInactivityMinutes)
	}
	return nil
}

// trackReply keeps awaiting_since and first_reply_at as message of
// senderType and typ is stored in chat chatID: an operator's answer starts
// the wait on the end user (unless one runs), the end user's message ends
// it. A starting transcript is history, not an answer.
func (t *tx) trackReply(ctx context.Context, chatID int64, senderType, typ string) error {
	if typ == TypeTranscript {
		return nil
	}
	switch senderType {
	case SenderOperator:
		_, err := t.Exec(ctx, `UPDATE chats SET awaiting_since = COALESCE(awaiting_since, ?), first_reply_at = COALESCE(first_reply_at, ?)
			WHERE id = ?`, t.nowMS(), t.nowMS(), chatID)
		return err
	case SenderEndUser:
		_, err := t.Exec(ctx, `UPDATE chats SET awaiting_since = NULL WHERE id = ? AND awaiting_since IS NOT NULL`, chatID)
		return err
	}
	return nil
}

// inactivityRuleSQL is the rule (ms) of a chat c joined with its menu m,
// given the default rule in ms as its argument; a rule not positive never
// falls due.
const inactivityRuleSQL = `COALESCE(CAST(m.inactivity_minutes AS BIGINT) * 60000, CAST(? AS BIGINT))`

// InactiveCloseAt is when the inactivity rule closes chat c of menu rule
// minutes (nil: the service's default), nil when it never does.
func (s *Service) InactiveCloseAt(c *Chat, rule *int) *time.Time {
	if c.Status != StatusAssigned || c.AwaitingSince == nil {
		return nil
	}
	d := s.Inactivity
	if rule != nil {
		d = time.Duration(*rule) * time.Minute
	}
	if d <= 0 {
		return nil
	}
	at := c.AwaitingSince.Add(d)
	return &at
}

// CloseInactiveChats closes every chat, of any company, that the
// inactivity rule says is due at now, and answers how many it closed and
// when the next one falls due (zero: none waits). Any node may run it; a
// chat the end user wrote in meanwhile is skipped.
func (s *Service) CloseInactiveChats(ctx context.Context, now time.Time) (int, time.Time, error) {
	type due struct {
		id, cid, at int64
		rule        int64
	}
	def := s.Inactivity.Milliseconds()
	dues, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (d due, err error) {
		err = r.Scan(&d.id, &d.cid, &d.at, &d.rule)
		return d, err
	}, `SELECT c.id, c.company_id, c.awaiting_since, `+inactivityRuleSQL+` FROM chats c LEFT JOIN menus m ON m.id = c.menu_id
		WHERE c.awaiting_since IS NOT NULL AND c.status = ? AND `+inactivityRuleSQL+` > 0
		ORDER BY c.awaiting_since + `+inactivityRuleSQL+` LIMIT 500`, def, StatusAssigned, def, def)
	if err != nil {
		return 0, time.Time{}, err
	}
	n := 0
	var next time.Time
	for _, d := range dues {
		at := ms(d.at + d.rule)
		if at.After(now) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		closed, err := s.closeInactive(ctx, d.cid, d.id, now)
		if err != nil && parley.ErrorCode(err) != parley.ECONFLICT {
			return n, next, err
		}
		if closed {
			n++
		}
	}
	if len(dues) == 500 && next.IsZero() {
		next = now // more than one page due: come back at once
	}
	return n, next, nil
}

// closeInactive closes one chat if the rule still says so.
func (s *Service) closeInactive(ctx context.Context, cid, id int64, now time.Time) (bool, error) {
	cctx := parley.WithCaller(ctx, parley.Caller{CompanyID: cid, Role: parley.RoleAdmin})
	closed := false
	err := s.retry(cctx, func() error {
		closed = false
		return s.write(cctx, cid, func(t *tx) error {
			c, err := getChat(cctx, t.Querier, cid, id)
			if err != nil {
				return err
			}
			var rule *int
			if c.MenuID != nil {
				if err := t.QueryRow(cctx, `SELECT inactivity_minutes FROM menus WHERE id = ?`, *c.MenuID).Scan(&rule); err != nil {
					return err
				}
			}
			at := s.InactiveCloseAt(c, rule)
			if at == nil || at.After(now) {
				return nil // the end user wrote, or the chat moved, meanwhile
			}
			mins := int(at.Sub(*c.AwaitingSince).Round(time.Minute) / time.Minute)
			text := fmt.Sprintf("Closed for inactivity: the customer did not answer for %d minutes.", mins)
			if mins < 1 {
				text = "Closed for inactivity: the customer did not answer."
			}
			m, err := t.appendMessage(cctx, c, nil, SenderSystem, "text", text, "")
			if err != nil {
				return err
			}
			if err := t.logMessage(cctx, c, m); err != nil {
				return err
			}
			closed = true
			return t.end(cctx, c, StatusChange{Status: StatusTimedOut, Reason: ReasonInactivity})
		})
	})
	return closed, err
}

// Closer runs the inactivity rule: every node runs one. It sleeps until
// the next chat falls due, an operator's answer (which may start an
// earlier wait) or the safety poll, whichever comes first.
type Closer struct {
	Chats *Service
	Log   *slog.Logger
	// Every is the safety poll (default DefaultSafetyPoll).
	Every    time.Duration
	wake     chan struct{}
	wakeOnce sync.Once
}

func (c *Closer) wakeCh() chan struct{} {
	c.wakeOnce.Do(func() { c.wake = make(chan struct{}, 1) })
	return c.wake
}

// Notice wakes the closer for an operator's message: it may start a wait
// that falls due before the one the closer sleeps towards.
func (c *Closer) Notice(ev events.Event) {
	if ev.Type != EventMessageCreated || ev.Data["sender_type"] != SenderOperator {
		return
	}
	select {
	case c.wakeCh() <- struct{}{}:
	default:
	}
}

// Run closes inactive chats until ctx ends.
func (c *Closer) Run(ctx context.Context) {
	every := c.Every
	if every <= 0 {
		every = DefaultSafetyPoll
	}
	wake := c.wakeCh()
	for {
		now := c.Chats.now()
		n, next, err := c.Chats.CloseInactiveChats(ctx, now)
		if err != nil && ctx.Err() == nil {
			c.Log.Error("inactivity sweep failed", "error", err)
		} else if n > 0 {
			c.Log.Info("inactive chats closed", "chats", n)
		}
		sleep := every
		if !next.IsZero() && next.Sub(now) < sleep {
			sleep = max(next.Sub(now), 10*time.Millisecond)
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-wake:
			t.Stop()
		}
	}
}

// Detail is what staff see of a chat beside its row: the customer's
// inactivity (since when, and when the rule closes the chat) and their
// rating.
type Detail struct {
	QuietSince *time.Time
	CloseAt    *time.Time
	Rating     *Rating
}

// ChatDetail reads chat c's Detail; c is a chat the caller has just read
// (GetChat), so it is in their sight.
func (s *Service) ChatDetail(ctx context.Context, c *Chat) (*Detail, error) {
	d := &Detail{}
	err := s.DB.Read(ctx, func(q store.Querier) error {
		if c.Status == StatusAssigned && c.AwaitingSince != nil {
			d.QuietSince = c.AwaitingSince
			var rule *int
			if c.MenuID != nil {
				if err := q.QueryRow(ctx, `SELECT inactivity_minutes FROM menus WHERE id = ? AND company_id = ?`, *c.MenuID, c.CompanyID).Scan(&rule); err != nil {
					return err
				}
			}
			d.CloseAt = s.InactiveCloseAt(c, rule)
		}
		var err error
		d.Rating, err = getRating(ctx, q, c.CompanyID, c.ID)
		return err
	})
	return d, err
}

// EndByEndUser ends chat chatID as its end user (the widget's "End chat"):
// status finished with reason end_user, the operator released. A chat that
// has ended is a conflict.
func (s *Service) EndByEndUser(ctx context.Context, chatID int64) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if c, _ := parley.CallerFrom(ctx); c.Role != parley.RoleEndUser {
		return parley.Errorf(parley.EFORBIDDEN, "Only the chat's end user ends it this way.")
	}
	return s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			c, err := getChat(ctx, t.Querier, cid, chatID)
			if err != nil {
				return err
			}
			if Final(c.Status) {
				return parley.Errorf(parley.ECONFLICT, "Chat %d has ended already.", chatID)
			}
			return t.end(ctx, c, StatusChange{Status: StatusFinished, Reason: ReasonEndUser})
		})
	})
}
