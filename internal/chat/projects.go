package chat

import (
	"context"
	"errors"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Project is a chat entry point (a widget or an API project); the live-chat
// gateway and the widget address chats through it.
type Project struct {
	ID        int64
	UUID      string
	CompanyID int64
	Name      string
	MenuID    *int64 // the menu new chats of the project go through
	CreatedAt time.Time
}

const projectColumns = `id, uuid, company_id, name, menu_id, created_at`

func scanProject(s store.Scanner) (*Project, error) {
	p := &Project{}
	var created int64
	if err := s.Scan(&p.ID, &p.UUID, &p.CompanyID, &p.Name, &p.MenuID, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = ms(created)
	return p, nil
}

func projectNotFound(id string) error {
	return &parley.Error{Code: parley.ENOTFOUND, Message: "Project " + parley.Clip(id) + " not found.",
		Fields: map[string]string{"project": "no such project"}}
}

func getProject(ctx context.Context, q store.Querier, cid, id int64) (*Project, error) {
	p, err := scanProject(q.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, projectNotFound("")
	}
	return p, err
}

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
	var p *Project
	err = s.write(ctx, cid, func(t *tx) error {
		p = &Project{UUID: newUUID(), CompanyID: cid, Name: name, CreatedAt: t.now}
		if menuID != 0 {
			if _, err := getMenu(ctx, t.Querier, cid, menuID); err != nil {
				return err
			}
			p.MenuID = &menuID
		}
		return t.QueryRow(ctx, `INSERT INTO projects (uuid, company_id, name, menu_id, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			p.UUID, cid, name, p.MenuID, t.nowMS()).Scan(&p.ID)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ListProjects returns the caller's company's projects, oldest first.
func (s *Service) ListProjects(ctx context.Context) ([]*Project, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return store.Collect(ctx, s.DB.Reader(), scanProject, `SELECT `+projectColumns+` FROM projects WHERE company_id = ? ORDER BY id LIMIT ?`, cid, MaxPage)
}

// ProjectByUUID returns a project of the caller's company.
func (s *Service) ProjectByUUID(ctx context.Context, id string) (*Project, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	p, err := scanProject(s.DB.Reader().QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE uuid = ? AND company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Project %s not found.", parley.Clip(id))
	}
	return p, err
}

// ProjectByPublicUUID finds a project by its UUID in any company, for the
// public widget API, whose visitors have no company of their own: the
// project's company becomes the tenant of their requests, with the
// end-user role.
func (s *Service) ProjectByPublicUUID(ctx context.Context, id string) (*Project, error) {
	p, err := scanProject(s.DB.Reader().QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE uuid = ?`, id))
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Project %s not found.", parley.Clip(id))
	}
	return p, err
}

// ChatByUUID returns a chat of the caller's company that belongs to the
// project and that the caller sees; any other chat is not found.
func (s *Service) ChatByUUID(ctx context.Context, projectID int64, id string) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	q := s.DB.Reader()
	c, err := scanChat(q.QueryRow(ctx, `SELECT `+chatColumns+` FROM chats WHERE uuid = ? AND company_id = ? AND project_id = ?`, id, cid, projectID))
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Conversation %s not found.", parley.Clip(id))
	} else if err != nil {
		return nil, err
	}
	g, err := sightOf(ctx, q, cid, s.now())
	if err != nil {
		return nil, err
	}
	if err := g.check(c); err != nil {
		return nil, err
	}
	return c, nil
}

// ListProjectChats returns a page of a project's chats that the caller
// sees, oldest first.
func (s *Service) ListProjectChats(ctx context.Context, projectID int64, limit, offset int) ([]*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	q := s.DB.Reader()
	me, err := callerOperator(ctx, q, cid)
	if err != nil {
		return nil, err
	}
	query, args := `SELECT `+chatColumns+` FROM chats c WHERE company_id = ? AND project_id = ?`, []any{cid, projectID}
	if me != nil {
		query += ` AND ` + sightSQL
		args = append(args, *me, *me)
	}
	return queryChats(ctx, q, query+` ORDER BY id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
}
