package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Operator statuses.
const (
	OperatorOnline  = "online"
	OperatorOffline = "offline"
	OperatorBusy    = "busy"
)

// ValidOperatorStatus reports whether s names an operator status.
func ValidOperatorStatus(s string) bool {
	return s == OperatorOnline || s == OperatorOffline || s == OperatorBusy
}

// Operator is a human agent who answers chats.
type Operator struct {
	ID        int64
	UserID    *int64
	Name      string
	FirstName string
	Avatar    string
	Status    string
	Capacity  int // most chats assigned at once
	Load      int // chats assigned now
	CreatedAt time.Time
	UpdatedAt time.Time
	// Disabled: the operator's user no longer has the operator role; the
	// operator stays offline until it has it again.
	Disabled bool
}

// MaxCapacity bounds the chats one operator may hold at once.
const MaxCapacity = 100

const operatorColumns = `id, user_id, name, first_name, avatar, status, capacity, load, created_at, updated_at, disabled_at`

func scanOperator(s store.Scanner) (*Operator, error) {
	o := &Operator{}
	var created, updated int64
	var disabled *int64
	if err := s.Scan(&o.ID, &o.UserID, &o.Name, &o.FirstName, &o.Avatar, &o.Status, &o.Capacity, &o.Load, &created, &updated, &disabled); err != nil {
		return nil, err
	}
	o.Disabled = disabled != nil
	o.CreatedAt, o.UpdatedAt = ms(created), ms(updated)
	return o, nil
}

func operatorNotFound(id int64) error { return store.ErrNotFound(fmt.Sprintf("Operator %d", id)) }

func validOperatorStatus(s string) error {
	if !ValidOperatorStatus(s) {
		return parley.FieldError("status", "must be online, offline or busy, got %q", parley.Clip(s))
	}
	return nil
}

// CreateOperator adds an operator without a login to the caller's company;
// status defaults to offline. Managing operators is for admin and api
// users: the router gives chats to operators, so an operator making
// colleagues would be making room for themself.
func (s *Service) CreateOperator(ctx context.Context, name, status string) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := managesOperators(ctx); err != nil {
		return nil, err
	}
	if name, err = parley.ValidName("name", name, MaxName); err != nil {
		return nil, err
	}
	if status == "" {
		status = OperatorOffline
	}
	if err := validOperatorStatus(status); err != nil {
		return nil, err
	}
	var id int64
	err = s.write(ctx, cid, func(t *tx) error {
		return t.QueryRow(ctx, `INSERT INTO operators (company_id, name, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, cid, name, status, t.nowMS(), t.nowMS()).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	if status == OperatorOnline && s.OperatorFree != nil {
		s.OperatorFree()
	}
	return getOperator(ctx, s.DB.Reader(), cid, id)
}

// EnableUserOperator gives an operator user of a company its operator row,
// in the transaction q that creates the user or gives it the operator role
// (internal/auth calls it; the user and its operator change together or
// not at all): the row the user had before, enabled again, or a new one
// named after the login. Either way it is offline: the operator goes
// online themself. now is q's time.
func (s *Service) EnableUserOperator(ctx context.Context, q store.Querier, companyID, userID int64, name string, now time.Time) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM operators WHERE user_id = ? AND company_id = ?`, userID, companyID).Scan(&id)
	if err == nil {
		_, err = q.Exec(ctx, `UPDATE operators SET disabled_at = NULL, updated_at = ? WHERE id = ? AND company_id = ? AND disabled_at IS NOT NULL`,
			now.UnixMilli(), id, companyID)
		return id, err
	}
	if !errors.Is(err, store.ErrNoRows) {
		return 0, err
	}
	err = q.QueryRow(ctx, `INSERT INTO operators (company_id, user_id, name, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, companyID, userID, name, OperatorOffline, now.UnixMilli(), now.UnixMilli()).Scan(&id)
	return id, err
}

// DisableUserOperator disables the operator row of a user who loses the
// operator role, in the transaction q that changes the role: the row goes
// offline and stays so (UpdateOperator refuses to put it online) until
// EnableUserOperator, the chats assigned to it go back to the queue for
// the other operators, and calls ringing for it move on, as when an
// operator goes offline. The row itself stays: chats, notes and reports
// point at it. published sends the change's events; call it once q has
// committed (never when it rolled back).
func (s *Service) DisableUserOperator(ctx context.Context, q store.Querier, companyID, userID int64, now time.Time) (published func(), err error) {
	var id int64
	err = q.QueryRow(ctx, `SELECT id FROM operators WHERE user_id = ? AND company_id = ?`, userID, companyID).Scan(&id)
	if errors.Is(err, store.ErrNoRows) {
		return func() {}, nil
	} else if err != nil {
		return nil, err
	}
	if err := lockOperator(ctx, q, companyID, id); err != nil {
		return nil, err
	}
	t := &tx{Querier: q, cid: companyID, now: now.Truncate(time.Millisecond), timeout: s.Timeout}
	if _, err := t.Exec(ctx, `UPDATE operators SET status = ?, disabled_at = COALESCE(disabled_at, ?), updated_at = ? WHERE id = ? AND company_id = ?`,
		OperatorOffline, t.nowMS(), t.nowMS(), id, companyID); err != nil {
		return nil, err
	}
	if err := t.unringOperator(ctx, id); err != nil {
		return nil, err
	}
	if err := t.requeueOperator(ctx, id); err != nil {
		return nil, err
	}
	return func() { s.publish(t.events) }, nil
}

func getOperator(ctx context.Context, q store.Querier, cid, id int64) (*Operator, error) {
	o, err := scanOperator(q.QueryRow(ctx, `SELECT `+operatorColumns+` FROM operators WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, operatorNotFound(id)
	}
	return o, err
}

// GetOperator returns one operator of the caller's company.
func (s *Service) GetOperator(ctx context.Context, id int64) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return getOperator(ctx, s.DB.Reader(), cid, id)
}

// OperatorExists checks that id is an operator of the caller's company.
func (s *Service) OperatorExists(ctx context.Context, id int64) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	var one int
	return s.DB.Reader().QueryRow(ctx, `SELECT 1 FROM operators WHERE id = ? AND company_id = ?`, id, cid).
		ScanFound(fmt.Sprintf("Operator %d", id), &one)
}

// ListOperators returns the company's operators in creation order.
func (s *Service) ListOperators(ctx context.Context) ([]*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := store.Collect(ctx, s.DB.Reader(), scanOperator, `SELECT `+operatorColumns+` FROM operators WHERE company_id = ? ORDER BY id`, cid)
	if out == nil && err == nil {
		out = []*Operator{}
	}
	return out, err
}

// OperatorUpdate is a partial change of an operator; nil fields stay.
type OperatorUpdate struct {
	Name     *string
	Status   *string
	Capacity *int
}

// managesOperators refuses callers other than admin and api users.
func managesOperators(ctx context.Context) error {
	if c, _ := parley.CallerFrom(ctx); !c.HasAPIAccess() {
		return parley.Errorf(parley.EFORBIDDEN, "Only admin and api users manage operators.")
	}
	return nil
}

// UpdateOperator changes an operator's name, status or capacity. An
// operator-role caller changes only their own presence (status): their
// name and capacity, like everything of their colleagues, are managed by
// admin and api users.
func (s *Service) UpdateOperator(ctx context.Context, id int64, u OperatorUpdate) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if u.Name == nil && u.Status == nil && u.Capacity == nil {
		return nil, parley.Errorf(parley.EINVALID, "Nothing to change: give name, status or capacity.")
	}

	if u.Capacity != nil && (*u.Capacity < 0 || *u.Capacity > MaxCapacity) {
		return nil, parley.FieldError("capacity", "must be from 0 to %d", MaxCapacity)
	}
	if u.Name != nil {
		n, err := parley.ValidName("name", *u.Name, MaxName)
		if err != nil {
			return nil, err
		}
		u.Name = &n
	}
	if u.Status != nil {
		if err := validOperatorStatus(*u.Status); err != nil {
			return nil, err
		}
	}
	wentOnline := false
	err = s.write(ctx, cid, func(t *tx) error {
		wentOnline = false
		// Lock the row before reading it: the status read decides whether
		// the operator's chats go back to the queue, and a concurrent change
		// must not make it stale.
		if err := lockOperator(ctx, t.Querier, cid, id); err != nil {
			return err
		}
		o, err := getOperator(ctx, t.Querier, cid, id)
		if err != nil {
			return err
		}
		me, err := callerOperator(ctx, t.Querier, cid)
		if err != nil {
			return err
		}
		if me != nil && (*me != o.ID || u.Name != nil || u.Capacity != nil) {
			return parley.Errorf(parley.EFORBIDDEN, "An operator changes only their own status; admin and api users manage operators.")
		}
		if u.Name != nil {
			o.Name = *u.Name
		}
		if o.Disabled && u.Status != nil && *u.Status != OperatorOffline {
			return parley.Errorf(parley.ECONFLICT, "%s no longer has the operator role: give their user the role again to put them online.", o.Name)
		}
		was := o.Status
		if u.Status != nil {
			o.Status = *u.Status
		}
		if u.Capacity != nil {
			o.Capacity = *u.Capacity
		}
		if _, err = t.Exec(ctx, `UPDATE operators SET name = ?, status = ?, capacity = ?, updated_at = ? WHERE id = ? AND company_id = ?`,
			o.Name, o.Status, o.Capacity, t.nowMS(), id, cid); err != nil {
			return err
		}
		wentOnline = o.Status == OperatorOnline && (was != OperatorOnline || u.Capacity != nil)
		if o.Status == OperatorOffline && was != OperatorOffline {
			// Nobody answers an offline operator's chats: back to the queue;
			// calls ringing for them move on to the next operator.
			if err := t.unringOperator(ctx, id); err != nil {
				return err
			}
			return t.requeueOperator(ctx, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if wentOnline && s.OperatorFree != nil {
		s.OperatorFree()
	}
	return getOperator(ctx, s.DB.Reader(), cid, id)
}

// callerOperator returns the operator row of an operator-role caller, or
// nil for other roles.
func callerOperator(ctx context.Context, q store.Querier, cid int64) (*int64, error) {
	c, _ := parley.CallerFrom(ctx)
	if c.Role != parley.RoleOperator {
		return nil, nil
	}
	var id int64
	// A disabled row (its user lost the operator role) is no one's: an
	// access token issued before the change still says operator, and must
	// not act as one.
	err := q.QueryRow(ctx, `SELECT id FROM operators WHERE user_id = ? AND company_id = ? AND disabled_at IS NULL`, c.UserID, cid).Scan(&id)
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.EFORBIDDEN, "The user is not an operator of the company.")
	} else if err != nil {
		return nil, err
	}
	return &id, nil
}

// CallerOperatorID returns the operator id of an operator-role caller; ok
// is false for other roles.
func (s *Service) CallerOperatorID(ctx context.Context) (id int64, ok bool, err error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return 0, false, err
	}
	me, err := callerOperator(ctx, s.DB.Reader(), cid)
	if err != nil || me == nil {
		return 0, false, err
	}
	return *me, true, nil
}
