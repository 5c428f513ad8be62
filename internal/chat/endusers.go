package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// EndUser is a customer who writes to the company (a "client" in v1).
type EndUser struct {
	ID          int64
	UUID        string
	CompanyID   int64
	Identifier  string
	Name        string
	Email       string
	Phone       string
	ContactInfo string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Contact is how to reach the end user in one line: their free-text
// contact info, or else their phone and email, as the operator API's
// contact_info shows them.
func (u *EndUser) Contact() string {
	if u.ContactInfo != "" {
		return u.ContactInfo
	}
	var parts []string
	for _, s := range []string{u.Phone, u.Email} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// NewEndUser is the input of CreateClient, and of OpenChat without an end
// user id.
type NewEndUser struct {
	Identifier  string
	Name        string
	Email       string
	Phone       string
	ContactInfo string
}

// normalize validates an end user to create. The identifier is required
// when the end user is found by it; otherwise an empty one is generated.
// The name defaults to the identifier when that is given.
func (in *NewEndUser) normalize(byIdentifier bool) error {
	var err error
	switch {
	case in.Identifier != "" || byIdentifier:
		if in.Identifier, err = parley.ValidName("identifier", in.Identifier, MaxName); err != nil {
			return err
		}
		if in.Name == "" && byIdentifier {
			in.Name = in.Identifier
		}
	default:
		in.Identifier = "gen:" + newUUID()
	}
	if in.Name, err = parley.ValidName("name", in.Name, MaxName); err != nil {
		return err
	}
	for field, v := range map[string]string{"email": in.Email, "phone": in.Phone} {
		if err := parley.ValidText(field, v, MaxName); err != nil {
			return err
		}
	}
	return parley.ValidText("contact_info", in.ContactInfo, MaxContact)
}

const endUserColumns = `id, uuid, company_id, identifier, name, email, phone, contact_info, created_at, updated_at`

func scanEndUser(s store.Scanner) (*EndUser, error) {
	u := &EndUser{}
	var created, updated int64
	if err := s.Scan(&u.ID, &u.UUID, &u.CompanyID, &u.Identifier, &u.Name, &u.Email, &u.Phone, &u.ContactInfo, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = ms(created), ms(updated)
	return u, nil
}

func getEndUser(ctx context.Context, q store.Querier, cid, id int64) (*EndUser, error) {
	u, err := scanEndUser(q.QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, store.ErrNotFound(fmt.Sprintf("Client %d", id))
	}
	return u, err
}

// endUserByIdentifier returns the company's end user with identifier, or
// nil when there is none.
func endUserByIdentifier(ctx context.Context, q store.Querier, cid int64, identifier string) (*EndUser, error) {
	u, err := scanEndUser(q.QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users WHERE company_id = ? AND identifier = ?`, cid, identifier))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil
	}
	return u, err
}

// insertEndUser stores a normalized end user; store.ErrUnique when the
// identifier is taken.
func (t *tx) insertEndUser(ctx context.Context, in NewEndUser) (*EndUser, error) {
	u := &EndUser{UUID: newUUID(), CompanyID: t.cid, Identifier: in.Identifier, Name: in.Name, Email: in.Email, Phone: in.Phone,
		ContactInfo: in.ContactInfo, CreatedAt: t.now, UpdatedAt: t.now}
	err := t.QueryRow(ctx, `INSERT INTO end_users (uuid, company_id, identifier, name, email, phone, contact_info, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, u.UUID, t.cid, u.Identifier, u.Name, u.Email, u.Phone, u.ContactInfo,
		t.nowMS(), t.nowMS()).Scan(&u.ID)
	return u, err
}

// findOrCreateEndUser returns the company's end user with in.Identifier as
// it is, or creates it from in (normalized). A concurrent creation of the
// same identifier is errRaced: the retry finds it.
func (t *tx) findOrCreateEndUser(ctx context.Context, in NewEndUser) (*EndUser, error) {
	u, err := endUserByIdentifier(ctx, t.Querier, t.cid, in.Identifier)
	if err != nil || u != nil {
		return u, err
	}
	u, err = t.insertEndUser(ctx, in)
	if errors.Is(err, store.ErrUnique) {
		return nil, errRaced
	}
	return u, err
}

// CreateClient adds an end user to the caller's company.
func (s *Service) CreateClient(ctx context.Context, in NewEndUser) (*EndUser, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.normalize(false); err != nil {
		return nil, err
	}
	var u *EndUser
	err = s.write(ctx, cid, func(t *tx) error {
		u, err = t.insertEndUser(ctx, in)
		if errors.Is(err, store.ErrUnique) {
			return &parley.Error{Code: parley.ECONFLICT, Message: "A client with this identifier already exists.",
				Fields: map[string]string{"identifier": "is taken"}}
		}
		return err
	})
	return u, err
}

// GetClient returns one end user of the caller's company.
func (s *Service) GetClient(ctx context.Context, id int64) (*EndUser, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return getEndUser(ctx, s.DB.Reader(), cid, id)
}

// EndUserUpdate is the chat platform's end-user change: Identifier is
// required, the other fields change only when given.
type EndUserUpdate struct {
	Identifier string
	Name       *string
	Email      *string
	Phone      *string
}

// UpdateChatEndUser updates the end user of a chat: the one with the given
// identifier (created if the company has none; the chat then moves to it)
// takes the given contact fields. The change is logged as an
// end_user.updated event, which CRM webhooks receive.
func (s *Service) UpdateChatEndUser(ctx context.Context, chatID int64, u EndUserUpdate) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	ident, err := parley.ValidName("identifier", u.Identifier, MaxName)
	if err != nil {
		return err
	}
	for name, p := range map[string]*string{"name": u.Name, "email": u.Email, "phone": u.Phone} {
		if p != nil && *p != "" {
			if _, err := parley.ValidName(name, *p, MaxName); err != nil {
				return err
			}
		}
	}
	return s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			c, _, err := t.seenChat(ctx, chatID)
			if err != nil {
				return err
			}
			nu := NewEndUser{Identifier: ident, Name: ident}
			if u.Name != nil && *u.Name != "" {
				nu.Name = *u.Name
			}
			eu, err := t.findOrCreateEndUser(ctx, nu)
			if err != nil {
				return err
			}
			if u.Name != nil {
				eu.Name = *u.Name
			}
			if u.Email != nil {
				eu.Email = *u.Email
			}
			if u.Phone != nil {
				eu.Phone = *u.Phone
			}
			if eu.Name == "" {
				eu.Name = ident
			}
			if _, err := t.Exec(ctx, `UPDATE end_users SET name = ?, email = ?, phone = ?, updated_at = ? WHERE id = ?`,
				eu.Name, eu.Email, eu.Phone, t.nowMS(), eu.ID); err != nil {
				return err
			}
			if eu.ID != c.EndUserID {
				if _, err := t.Exec(ctx, `UPDATE chats SET end_user_id = ?, updated_at = ? WHERE id = ?`, eu.ID, t.nowMS(), c.ID); err != nil {
					return err
				}
			}
			return t.log(ctx, c.ID, c.UUID, EventEndUserUpdated, map[string]any{"end_user_id": eu.ID, "identifier": ident,
				"name": eu.Name, "email": eu.Email, "phone": eu.Phone})
		})
	})
}
