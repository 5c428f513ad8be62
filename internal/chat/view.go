package chat

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Person is an operator or a virtual agent as a chat shows them.
type Person struct {
	ID        int64
	Name      string
	FirstName string
	Avatar    string
	Status    string
}

// ChatView is a chat with everything the chat platform's chat object shows:
// its current operator and virtual agent, everyone who served it, its menu
// and its end user.
type ChatView struct {
	*Chat
	Operator          *Person
	VirtualAgent      *Person
	AllOperators      []Person
	AllVirtualAgents  []Person
	Menu              *Menu
	EndUserIdentifier string
}

// ViewChat returns the ChatView of a chat of the caller's company.
func (s *Service) ViewChat(ctx context.Context, id int64) (*ChatView, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var v *ChatView
	err = s.DB.Read(ctx, func(q store.Querier) error {
		c, err := getChat(ctx, q, cid, id)
		if err != nil {
			return err
		}
		v = &ChatView{Chat: c, AllOperators: []Person{}, AllVirtualAgents: []Person{}}
		if err := q.QueryRow(ctx, `SELECT identifier FROM end_users WHERE id = ?`, c.EndUserID).Scan(&v.EndUserIdentifier); err != nil {
			return err
		}
		if c.MenuID != nil {
			if v.Menu, err = getMenu(ctx, q, cid, *c.MenuID); err != nil {
				return err
			}
		}
		rows, err := q.Query(ctx, `SELECT p.kind, p.ref_id, COALESCE(o.name, a.name, ''), COALESCE(o.first_name, ''),
				COALESCE(o.avatar, ''), COALESCE(o.status, '')
			FROM chat_participants p
			LEFT JOIN operators o ON p.kind = 'operator' AND o.id = p.ref_id
			LEFT JOIN agents a ON p.kind = 'virtual_agent' AND a.id = p.ref_id
			WHERE p.chat_id = ? ORDER BY p.joined_at, p.ref_id`, c.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var kind string
			var p Person
			if err := rows.Scan(&kind, &p.ID, &p.Name, &p.FirstName, &p.Avatar, &p.Status); err != nil {
				return err
			}
			if kind == PartVirtualAgent {
				p.Status = "inactive"
				if c.Status == StatusVA && c.VirtualAgentID != nil && *c.VirtualAgentID == p.ID {
					p.Status = "active"
					vp := p
					v.VirtualAgent = &vp
				}
				v.AllVirtualAgents = append(v.AllVirtualAgents, p)
				continue
			}
			if c.OperatorID != nil && *c.OperatorID == p.ID && c.Status == StatusAssigned {
				op := p
				v.Operator = &op
			}
			v.AllOperators = append(v.AllOperators, p)
		}
		return rows.Err()
	})
	return v, err
}

// OperatorExists checks that id is an operator of the caller's company.
func (s *Service) OperatorExists(ctx context.Context, id int64) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	var one int
	err = s.DB.Reader().QueryRow(ctx, `SELECT 1 FROM operators WHERE id = ? AND company_id = ?`, id, cid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return parley.Errorf(parley.ENOTFOUND, "Operator %d not found.", id)
	}
	return err
}
