package chat

import (
	"context"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// MenuLoad is how many open chats of one menu are in each live state.
type MenuLoad struct {
	ID       int64
	Name     string
	Queued   int // waiting for an operator
	VA       int // with the virtual agent
	Assigned int // with an operator
}

// LiveStats is the company's live chat load: per menu, the totals over
// every open chat (also those without a menu), and the operators.
type LiveStats struct {
	Menus     []MenuLoad
	Totals    MenuLoad
	Operators []*Operator
}

// LiveStats reads the caller's company's open chats by menu and state, and
// its operators with their status, load and capacity.
func (s *Service) LiveStats(ctx context.Context) (*LiveStats, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out := &LiveStats{Menus: []MenuLoad{}}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		menus, err := store.Collect(ctx, q, func(r store.Scanner) (m MenuLoad, err error) {
			err = r.Scan(&m.ID, &m.Name)
			return m, err
		}, `SELECT id, name FROM menus WHERE company_id = ? ORDER BY id LIMIT ?`, cid, MaxPage)
		if err != nil {
			return err
		}
		index := map[int64]int{}
		for i, m := range menus {
			index[m.ID] = i
		}
		out.Menus = append(out.Menus, menus...)
		return eachRow(ctx, q, `SELECT menu_id, status, COUNT(*) FROM chats WHERE company_id = ? AND status IN (?, ?, ?)
			GROUP BY menu_id, status`, []any{cid, StatusQueued, StatusVA, StatusAssigned}, func(r store.Scanner) error {
			var menu *int64
			var status string
			var n int
			if err := r.Scan(&menu, &status, &n); err != nil {
				return err
			}
			addLoad(&out.Totals, status, n)
			if menu != nil {
				if i, ok := index[*menu]; ok {
					addLoad(&out.Menus[i], status, n)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if out.Operators, err = s.ListOperators(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

func addLoad(m *MenuLoad, status string, n int) {
	switch status {
	case StatusQueued:
		m.Queued += n
	case StatusVA:
		m.VA += n
	case StatusAssigned:
		m.Assigned += n
	}
}
