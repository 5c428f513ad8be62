package chat

import (
	"context"
	"strings"

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
		c, err := s.seenChat(ctx, q, cid, id)
		if err != nil {
			return err
		}
		vs, err := viewChats(ctx, q, cid, []*Chat{c})
		if err == nil {
			v = vs[0]
		}
		return err
	})
	return v, err
}

// ViewChats returns the ChatViews of chats of the caller's company (a page
// of ListChats), in the same order, with a fixed number of queries.
func (s *Service) ViewChats(ctx context.Context, cs []*Chat) ([]*ChatView, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out []*ChatView
	err = s.DB.Read(ctx, func(q store.Querier) error {
		out, err = viewChats(ctx, q, cid, cs)
		return err
	})
	return out, err
}

func viewChats(ctx context.Context, q store.Querier, cid int64, cs []*Chat) ([]*ChatView, error) {
	out := make([]*ChatView, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	byID := map[int64]*ChatView{}
	var chatIDs, userIDs, menuIDs []any
	seenUser, seenMenu := map[int64]bool{}, map[int64]bool{}
	for i, c := range cs {
		if c.CompanyID != cid {
			return nil, chatNotFound(c.ID)
		}
		v := &ChatView{Chat: c, AllOperators: []Person{}, AllVirtualAgents: []Person{}}
		out[i], byID[c.ID] = v, v
		chatIDs = append(chatIDs, c.ID)
		if !seenUser[c.EndUserID] {
			seenUser[c.EndUserID] = true
			userIDs = append(userIDs, c.EndUserID)
		}
		if c.MenuID != nil && !seenMenu[*c.MenuID] {
			seenMenu[*c.MenuID] = true
			menuIDs = append(menuIDs, *c.MenuID)
		}
	}
	idents := map[int64]string{}
	if err := eachRow(ctx, q, `SELECT id, identifier FROM end_users WHERE company_id = ? AND id IN (`+marks(len(userIDs))+`)`,
		append([]any{cid}, userIDs...), func(r store.Scanner) error {
			var id int64
			var ident string
			if err := r.Scan(&id, &ident); err != nil {
				return err
			}
			idents[id] = ident
			return nil
		}); err != nil {
		return nil, err
	}
	menus := map[int64]*Menu{}
	if len(menuIDs) > 0 {
		if err := eachRow(ctx, q, `SELECT id, name FROM menus WHERE company_id = ? AND id IN (`+marks(len(menuIDs))+`)`,
			append([]any{cid}, menuIDs...), func(r store.Scanner) error {
				m := &Menu{CompanyID: cid}
				if err := r.Scan(&m.ID, &m.Name); err != nil {
					return err
				}
				menus[m.ID] = m
				return nil
			}); err != nil {
			return nil, err
		}
	}
	for _, v := range out {
		v.EndUserIdentifier = idents[v.EndUserID]
		if v.MenuID != nil {
			v.Menu = menus[*v.MenuID]
		}
	}
	err := eachRow(ctx, q, `SELECT p.chat_id, p.kind, p.ref_id, COALESCE(o.name, a.name, ''), COALESCE(o.first_name, ''),
			COALESCE(o.avatar, ''), COALESCE(o.status, '')
		FROM chat_participants p
		LEFT JOIN operators o ON p.kind = 'operator' AND o.id = p.ref_id
		LEFT JOIN agents a ON p.kind = 'virtual_agent' AND a.id = p.ref_id
		WHERE p.chat_id IN (`+marks(len(chatIDs))+`) ORDER BY p.chat_id, p.joined_at, p.ref_id`, chatIDs, func(r store.Scanner) error {
		var chatID int64
		var kind string
		var p Person
		if err := r.Scan(&chatID, &kind, &p.ID, &p.Name, &p.FirstName, &p.Avatar, &p.Status); err != nil {
			return err
		}
		v := byID[chatID]
		if kind == PartVirtualAgent {
			p.Status = "inactive"
			if v.Status == StatusVA && v.VirtualAgentID != nil && *v.VirtualAgentID == p.ID {
				p.Status = "active"
				vp := p
				v.VirtualAgent = &vp
			}
			v.AllVirtualAgents = append(v.AllVirtualAgents, p)
			return nil
		}
		if v.OperatorID != nil && *v.OperatorID == p.ID && v.Status == StatusAssigned {
			op := p
			v.Operator = &op
		}
		v.AllOperators = append(v.AllOperators, p)
		return nil
	})
	return out, err
}

// marks is n comma-separated placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// eachRow runs a query and hands every row to fn.
func eachRow(ctx context.Context, q store.Querier, query string, args []any, fn func(store.Scanner) error) error {
	_, err := store.Collect(ctx, q, func(r store.Scanner) (struct{}, error) { return struct{}{}, fn(r) }, query, args...)
	return err
}
