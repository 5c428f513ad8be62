package chat

import (
	"context"
	"errors"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Menu is a queue chats are routed through: the virtual agent answers
// first, then the menu's operators (every operator when it names none).
type Menu struct {
	ID          int64
	CompanyID   int64
	Name        string
	AgentID     *int64 // the virtual agent, if any
	OperatorIDs []int64
	CreatedAt   time.Time
	// InactivityMinutes is the menu's inactivity rule (inactivity.go): nil
	// takes the server's default, 0 never closes.
	InactivityMinutes *int
}

// MaxMenuOperators bounds the operators named by one menu.
const MaxMenuOperators = 1000

// NewMenu is the input of CreateMenu. AgentUUID names the virtual agent
// (an agent of the company), if any; OperatorIDs the operators who serve
// the menu (none means every operator).
type NewMenu struct {
	Name              string
	AgentUUID         string
	OperatorIDs       []int64
	InactivityMinutes *int
}

// CreateMenu adds a menu to the caller's company.
func (s *Service) CreateMenu(ctx context.Context, in NewMenu) (*Menu, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	name, err := parley.ValidName("name", in.Name, MaxName)
	if err != nil {
		return nil, err
	}
	if err := validInactivity(in.InactivityMinutes); err != nil {
		return nil, err
	}
	var id int64
	err = s.write(ctx, cid, func(t *tx) error {
		agentID, err := agentByUUID(ctx, t.Querier, cid, in.AgentUUID)
		if err != nil {
			return err
		}
		if err := t.QueryRow(ctx, `INSERT INTO menus (company_id, name, agent_id, created_at, inactivity_minutes) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			cid, name, agentID, t.nowMS(), in.InactivityMinutes).Scan(&id); err != nil {
			return err
		}
		return setMenuOperators(ctx, t.Querier, cid, id, in.OperatorIDs)
	})
	if err != nil {
		return nil, err
	}
	return s.GetMenu(ctx, id)
}

// MenuUpdate is a partial change of a menu; nil fields stay. An empty
// AgentUUID removes the virtual agent.
type MenuUpdate struct {
	Name        *string
	AgentUUID   *string
	OperatorIDs *[]int64
	// Inactivity sets the inactivity rule: Inactivity.Minutes nil goes back
	// to the server's default.
	Inactivity *InactivitySetting
}

// InactivitySetting is a menu's inactivity rule as an update gives it.
type InactivitySetting struct{ Minutes *int }

// UpdateMenu changes a menu of the caller's company.
func (s *Service) UpdateMenu(ctx context.Context, id int64, u MenuUpdate) (*Menu, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if u.Inactivity != nil {
		if err := validInactivity(u.Inactivity.Minutes); err != nil {
			return nil, err
		}
	}
	err = s.write(ctx, cid, func(t *tx) error {
		q := t.Querier
		m, err := getMenu(ctx, q, cid, id)
		if err != nil {
			return err
		}
		if u.Name != nil {
			if m.Name, err = parley.ValidName("name", *u.Name, MaxName); err != nil {
				return err
			}
		}
		if u.AgentUUID != nil {
			if m.AgentID, err = agentByUUID(ctx, q, cid, *u.AgentUUID); err != nil {
				return err
			}
		}
		if u.Inactivity != nil {
			m.InactivityMinutes = u.Inactivity.Minutes
		}
		if _, err := q.Exec(ctx, `UPDATE menus SET name = ?, agent_id = ?, inactivity_minutes = ? WHERE id = ? AND company_id = ?`,
			m.Name, m.AgentID, m.InactivityMinutes, id, cid); err != nil {
			return err
		}
		if u.OperatorIDs != nil {
			if _, err := q.Exec(ctx, `DELETE FROM menu_operators WHERE menu_id = ?`, id); err != nil {
				return err
			}
			return setMenuOperators(ctx, q, cid, id, *u.OperatorIDs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetMenu(ctx, id)
}

func agentByUUID(ctx context.Context, q store.Querier, cid int64, u string) (*int64, error) {
	if u == "" {
		return nil, nil
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM agents WHERE uuid = ? AND company_id = ?`, u, cid).Scan(&id)
	if errors.Is(err, store.ErrNoRows) {
		return nil, &parley.Error{Code: parley.ENOTFOUND, Message: "Agent not found.", Fields: map[string]string{"agent": "no such agent"}}
	}
	return &id, err
}

func setMenuOperators(ctx context.Context, q store.Querier, cid, menu int64, ops []int64) error {
	if len(ops) > MaxMenuOperators {
		return parley.FieldError("operator_ids", "at most %d operators", MaxMenuOperators)
	}
	seen := map[int64]bool{}
	for _, op := range ops {
		if seen[op] {
			continue
		}
		seen[op] = true
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM operators WHERE id = ? AND company_id = ?`, op, cid).Scan(&one)
		if errors.Is(err, store.ErrNoRows) {
			return parley.FieldError("operator_ids", "operator %d not found", op)
		} else if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO menu_operators (menu_id, operator_id) VALUES (?, ?)`, menu, op); err != nil {
			return err
		}
	}
	return nil
}

func getMenu(ctx context.Context, q store.Querier, cid, id int64) (*Menu, error) {
	m := &Menu{}
	var created int64
	err := q.QueryRow(ctx, `SELECT id, company_id, name, agent_id, created_at, inactivity_minutes FROM menus WHERE id = ? AND company_id = ?`, id, cid).
		Scan(&m.ID, &m.CompanyID, &m.Name, &m.AgentID, &created, &m.InactivityMinutes)
	if errors.Is(err, store.ErrNoRows) {
		return nil, &parley.Error{Code: parley.ENOTFOUND, Message: "Menu not found.", Fields: map[string]string{"menu_id": "no such menu"}}
	} else if err != nil {
		return nil, err
	}
	m.CreatedAt = ms(created)
	if m.OperatorIDs, err = store.Int64s(ctx, q, `SELECT operator_id FROM menu_operators WHERE menu_id = ? ORDER BY operator_id`, id); err != nil {
		return nil, err
	}
	if m.OperatorIDs == nil {
		m.OperatorIDs = []int64{}
	}
	return m, nil
}

// GetMenu returns a menu of the caller's company.
func (s *Service) GetMenu(ctx context.Context, id int64) (*Menu, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var m *Menu
	err = s.DB.Read(ctx, func(q store.Querier) error {
		m, err = getMenu(ctx, q, cid, id)
		return err
	})
	return m, err
}

// ListMenus returns the caller's company's menus in id order.
func (s *Service) ListMenus(ctx context.Context) ([]*Menu, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Menu
	err = s.DB.Read(ctx, func(q store.Querier) error {
		ids, err := store.Int64s(ctx, q, `SELECT id FROM menus WHERE company_id = ? ORDER BY id LIMIT ?`, cid, MaxPage)
		if err != nil {
			return err
		}
		out = make([]*Menu, 0, len(ids))
		for _, id := range ids {
			m, err := getMenu(ctx, q, cid, id)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}
