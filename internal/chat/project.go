package chat

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// CreateProject adds a project (a chat entry point) to the caller's company.
func (s *Service) CreateProject(ctx context.Context, name string) (*Project, error) {
	return s.CreateProjectWithMenu(ctx, name, 0)
}

// CreateProjectWithMenu adds a project whose chats go through a menu of the
// caller's company (0: no menu).
func (s *Service) CreateProjectWithMenu(ctx context.Context, name string, menuID int64) (*Project, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = parley.ValidName("name", name, MaxName); err != nil {
		return nil, err
	}
	p := &Project{UUID: uuid.NewString(), CompanyID: cid, Name: name, CreatedAt: ms(time.Now().UnixMilli())}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		if menuID != 0 {
			if _, err := getMenu(ctx, q, cid, menuID); err != nil {
				return err
			}
			p.MenuID = &menuID
		}
		return q.QueryRow(ctx, `INSERT INTO projects (uuid, company_id, name, menu_id, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			p.UUID, cid, name, p.MenuID, p.CreatedAt.UnixMilli()).Scan(&p.ID)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ProjectByUUID returns a project of the caller's company.
func (s *Service) ProjectByUUID(ctx context.Context, id string) (*Project, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	p := &Project{}
	var created int64
	var menu sql.NullInt64
	err = s.DB.Reader().QueryRow(ctx, `SELECT id, uuid, company_id, name, menu_id, created_at FROM projects WHERE uuid = ? AND company_id = ?`, id, cid).
		Scan(&p.ID, &p.UUID, &p.CompanyID, &p.Name, &menu, &created)
	p.MenuID = ptr(menu)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Project %s not found.", parley.Clip(id))
	} else if err != nil {
		return nil, err
	}
	p.CreatedAt = ms(created)
	return p, nil
}

// OpenProjectChat finds or creates the end user with in.Identifier and opens
// a queued chat with them in a project of the caller's company. An existing
// end user is reused as is.
func (s *Service) OpenProjectChat(ctx context.Context, p *Project, in NewEndUser) (*Chat, *EndUser, error) {
	u, err := s.FindOrCreateEndUser(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	nc := NewChat{EndUserID: u.ID, ProjectID: p.ID}
	if p.MenuID != nil {
		nc.MenuID = *p.MenuID
	}
	c, err := s.OpenChat(ctx, nc)
	return c, u, err
}

// FindOrCreateEndUser returns the caller's company's end user with
// in.Identifier, creating it from in when there is none. An existing end
// user is returned as is.
func (s *Service) FindOrCreateEndUser(ctx context.Context, in NewEndUser) (*EndUser, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	ident, err := parley.ValidName("identifier", in.Identifier, MaxName)
	if err != nil {
		return nil, err
	}
	in.Identifier = ident
	if in.Name == "" {
		in.Name = ident
	}
	for attempt := 0; ; attempt++ {
		u, err := scanEndUser(s.DB.Reader().QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users WHERE company_id = ? AND identifier = ?`, cid, ident))
		if errors.Is(err, sql.ErrNoRows) {
			u, err = s.CreateClient(ctx, in)
			if parley.ErrorCode(err) == parley.ECONFLICT && attempt < 2 {
				continue // created concurrently: read it
			}
		}
		return u, err
	}
}

// ChatByUUID returns a chat of the caller's company that belongs to the
// project; any other chat is not found.
func (s *Service) ChatByUUID(ctx context.Context, projectID int64, id string) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	c, err := scanChat(s.DB.Reader().QueryRow(ctx, `SELECT `+chatColumns+` FROM chats WHERE uuid = ? AND company_id = ? AND project_id = ?`, id, cid, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Conversation %s not found.", parley.Clip(id))
	}
	return c, err
}

// ListProjectChats returns a page of a project's chats, oldest first.
func (s *Service) ListProjectChats(ctx context.Context, projectID int64, limit, offset int) ([]*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	return queryChats(ctx, s.DB.Reader(), `SELECT `+chatColumns+` FROM chats WHERE company_id = ? AND project_id = ?
		ORDER BY id LIMIT ? OFFSET ?`, cid, projectID, limit, offset)
}
