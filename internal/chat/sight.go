package chat

import (
	"context"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Who sees which chat: one rule for every API family and the realtime
// stream, kept here so that no adapter decides it.
//
//   - Admin and api users, and the server's own work (a context without a
//     role), see every chat of their company.
//   - An operator sees the chats assigned to them (operator_id, which a
//     chat keeps when it ends) and the queue of their menus: queued chats
//     without a menu, or whose menu names no operators, or names them (the
//     chats the router could give them). Nothing else: not a colleague's
//     chat, not a chat still with its virtual agent.
//   - An end user (the widget) sees the one chat their token names; the
//     widget checks the token against the chat before calling here.
//
// Seeing a chat is what lets a caller act on it: every method that reads or
// changes one chat for a caller reads it through Sight.chat, and the lists
// filter with the same rule in SQL (sightSQL).

// Sight is what one caller may see of its company's chats.
type Sight struct {
	CompanyID int64
	// Operator is the caller's operator; 0 sees every chat of the company.
	Operator int64
	// UserID is the caller's user (0 for the server's own work).
	UserID int64
	// menus holds every menu of the company the sight was taken in: true
	// when its queue is the operator's. Loaded only for operators.
	menus map[int64]bool
	// At is when the sight was taken: a long-lived holder (the stream)
	// takes a new one now and then, as menus change.
	At time.Time
}

// servesSQL is the condition "operator op may take the chats of menu menu",
// two SQL expressions: the menu names no operators, or names op. The router
// (candidate) and the sights share it.
func servesSQL(menu, op string) string {
	return `(NOT EXISTS (SELECT 1 FROM menu_operators sa WHERE sa.menu_id = ` + menu + `)
		OR EXISTS (SELECT 1 FROM menu_operators sb WHERE sb.menu_id = ` + menu + ` AND sb.operator_id = ` + op + `))`
}

// sightSQL is the rule as a condition on a chats row (alias c) for an
// operator, with two parameters: the operator, the operator again.
var sightSQL = `(c.operator_id = ? OR (c.status = '` + StatusQueued + `' AND (c.menu_id IS NULL
	OR EXISTS (SELECT 1 FROM menus sm WHERE sm.id = c.menu_id AND ` + servesSQL("sm.id", "?") + `))))`

// queueSQL is the queue part of the rule alone (a queued chats row, alias
// c, the operator as its one parameter).
var queueSQL = `(c.menu_id IS NULL OR EXISTS (SELECT 1 FROM menus sm WHERE sm.id = c.menu_id AND ` + servesSQL("sm.id", "?") + `))`

// sightOf takes the caller's sight in q: no query for a staff caller, two
// for an operator (their row, the company's menus).
func sightOf(ctx context.Context, q store.Querier, cid int64, now time.Time) (*Sight, error) {
	c, _ := parley.CallerFrom(ctx)
	me, err := callerOperator(ctx, q, cid)
	if err != nil {
		return nil, err
	}
	if me == nil {
		return &Sight{CompanyID: cid, UserID: c.UserID, At: now}, nil
	}
	g, err := operatorSight(ctx, q, cid, *me, now)
	if g != nil {
		g.UserID = c.UserID
	}
	return g, err
}

// operatorSight is the sight of operator op of company cid.
func operatorSight(ctx context.Context, q store.Querier, cid, op int64, now time.Time) (*Sight, error) {
	g := &Sight{CompanyID: cid, Operator: op, At: now, menus: map[int64]bool{}}
	_, err := store.Collect(ctx, q, func(r store.Scanner) (struct{}, error) {
		var id int64
		var serves int
		err := r.Scan(&id, &serves)
		g.menus[id] = serves == 1
		return struct{}{}, err
	}, `SELECT m.id, CASE WHEN `+servesSQL("m.id", "?")+` THEN 1 ELSE 0 END FROM menus m WHERE m.company_id = ?`, op, cid)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Sight takes the caller's sight now. The realtime stream holds one per
// operator and takes it again when it is old or names no menu it meets.
func (s *Service) Sight(ctx context.Context) (*Sight, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return sightOf(ctx, s.DB.Reader(), cid, s.now())
}

// Staff reports whether the sight takes in the whole company.
func (g *Sight) Staff() bool { return g.Operator == 0 }

// Sees reports whether the caller sees a chat of its company in this state:
// its status, operator (0: none) and menu (0: none).
func (g *Sight) Sees(status string, operator, menu int64) bool {
	if g.Operator == 0 {
		return true
	}
	if operator == g.Operator {
		return true
	}
	return status == StatusQueued && (menu == 0 || g.menus[menu])
}

// Knows reports whether the sight was taken after menu existed, so that
// Sees can judge a queued chat of it; a sight that does not know a menu
// is out of date.
func (g *Sight) Knows(menu int64) bool {
	if g.Operator == 0 || menu == 0 {
		return true
	}
	_, ok := g.menus[menu]
	return ok
}

// SeesChat is Sees for a chat.
func (g *Sight) SeesChat(c *Chat) bool {
	var op, menu int64
	if c.OperatorID != nil {
		op = *c.OperatorID
	}
	if c.MenuID != nil {
		menu = *c.MenuID
	}
	return c.CompanyID == g.CompanyID && g.Sees(c.Status, op, menu)
}

// notInSight is the error of a chat the caller may not see.
func notInSight(id int64) error {
	return parley.Errorf(parley.EFORBIDDEN, "Chat %d is neither assigned to you nor in the queue of your menus.", id)
}

// check fails unless the caller sees c.
func (g *Sight) check(c *Chat) error {
	if !g.SeesChat(c) {
		return notInSight(c.ID)
	}
	return nil
}

// chat reads chat id for the caller: not found when the company has no such
// chat, forbidden when the caller may not see it.
func (g *Sight) chat(ctx context.Context, q store.Querier, id int64) (*Chat, error) {
	c, err := getChat(ctx, q, g.CompanyID, id)
	if err != nil {
		return nil, err
	}
	if err := g.check(c); err != nil {
		return nil, err
	}
	return c, nil
}

// sight takes the caller's sight in transaction t.
func (t *tx) sight(ctx context.Context) (*Sight, error) {
	return sightOf(ctx, t.Querier, t.cid, t.now)
}

// seenChat reads chat id in transaction t for the caller (Sight.chat).
func (t *tx) seenChat(ctx context.Context, id int64) (*Chat, *Sight, error) {
	g, err := t.sight(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := g.chat(ctx, t.Querier, id)
	return c, g, err
}

// seenChat reads chat id for the caller outside a transaction.
func (s *Service) seenChat(ctx context.Context, q store.Querier, cid, id int64) (*Chat, error) {
	g, err := sightOf(ctx, q, cid, s.now())
	if err != nil {
		return nil, err
	}
	return g.chat(ctx, q, id)
}
