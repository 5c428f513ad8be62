package chat

import (
	"context"

	"github.com/parley-cc/parley"
)

// DeleteMenu removes a menu of the caller's company. A menu that chats or
// projects went through, or that an agent transfers calls to, stays: those
// rows keep pointing at it (reports group chats by menu), so deleting it
// would either break them or rewrite history. The caller is told why in
// words a supervisor understands.
func (s *Service) DeleteMenu(ctx context.Context, id int64) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, cid, func(t *tx) error {
		q := t.Querier
		if _, err := getMenu(ctx, q, cid, id); err != nil {
			return err
		}
		var used int
		if err := q.QueryRow(ctx, `SELECT
			(SELECT COUNT(*) FROM projects WHERE menu_id = ? AND company_id = ?) +
			(SELECT COUNT(*) FROM agents WHERE transfer_menu_id = ? AND company_id = ?) +
			(SELECT COUNT(*) FROM (SELECT 1 FROM chats WHERE menu_id = ? AND company_id = ? LIMIT 1) c)`,
			id, cid, id, cid, id, cid).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return parley.Errorf(parley.ECONFLICT, "The menu is in use by a project, an agent or past chats, so it cannot be deleted; rename it instead.")
		}
		if _, err := q.Exec(ctx, `DELETE FROM menu_operators WHERE menu_id = ?`, id); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM menus WHERE id = ? AND company_id = ?`, id, cid)
		return err
	})
}
