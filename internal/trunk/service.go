package trunk

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Service stores the companies' trunks. Every method but ByName is scoped
// to the caller's company.
type Service struct {
	DB *store.DB
	// Now is the clock of created_at and updated_at; nil is time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

const columns = `uuid, company_id, name, host, port, transport, username, password, caller_id, codecs, ring_timeout_s, refer, created_at, updated_at`

func scan(r store.Scanner) (*Trunk, error) {
	var t Trunk
	var created, updated int64
	if err := r.Scan(&t.UUID, &t.CompanyID, &t.Name, &t.Host, &t.Port, &t.Transport, &t.Username, &t.secret,
		&t.CallerID, &t.Codecs, &t.RingTimeout, &t.Refer, &created, &updated); err != nil {
		return nil, err
	}
	if t.secret != "" {
		t.Password = Masked
	}
	t.CreatedAt, t.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &t, nil
}

// found maps a missing row to the domain's "Trunk not found.".
func found(t *Trunk, err error) (*Trunk, error) {
	if errors.Is(err, store.ErrNoRows) {
		return nil, store.ErrNotFound("Trunk")
	}
	return t, err
}

// Create adds a trunk to the caller's company; a name it already has is a
// conflict.
func (s *Service) Create(ctx context.Context, in NewTrunk) (*Trunk, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := validate(&in); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	err = s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now().UnixMilli()
		_, err := q.Exec(ctx, `INSERT INTO trunks (uuid, company_id, name, host, port, transport, username, password, caller_id, codecs, ring_timeout_s, refer, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, cid, in.Name, in.Host, in.Port, in.Transport, in.Username, in.Password,
			in.CallerID, in.Codecs, in.RingTimeout, in.Refer, now, now)
		return err
	})
	if errors.Is(err, store.ErrUnique) {
		return nil, parley.Errorf(parley.ECONFLICT, "A trunk named %q already exists.", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Get returns one of the caller's trunks by UUID.
func (s *Service) Get(ctx context.Context, trunkUUID string) (*Trunk, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return found(scan(s.DB.Reader().QueryRow(ctx, `SELECT `+columns+` FROM trunks WHERE uuid = ? AND company_id = ?`, trunkUUID, cid)))
}

// List returns the caller's trunks by name.
func (s *Service) List(ctx context.Context) ([]*Trunk, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := store.Collect(ctx, s.DB.Reader(), scan, `SELECT `+columns+` FROM trunks WHERE company_id = ? ORDER BY name`, cid)
	if out == nil && err == nil {
		out = []*Trunk{}
	}
	return out, err
}

// GetByName returns the caller's trunk named name (the name an agent's
// trunk_name uses); another company's trunk is not found.
func (s *Service) GetByName(ctx context.Context, name string) (*Trunk, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return s.ByName(ctx, cid, name)
}

// ByName returns company companyID's trunk named name, not scoped to a
// caller: the dialer, which holds the agent's company from its claim,
// resolves an agent's trunk_name with it.
func (s *Service) ByName(ctx context.Context, companyID int64, name string) (*Trunk, error) {
	// A name no trunk can have (NUL, invalid UTF-8, too long) is simply
	// not found; PostgreSQL would refuse it as a parameter.
	name, err := parley.ValidName("name", name, 100)
	if err != nil {
		return nil, store.ErrNotFound("Trunk")
	}
	return found(scan(s.DB.Reader().QueryRow(ctx, `SELECT `+columns+` FROM trunks WHERE company_id = ? AND name = ?`, companyID, name)))
}

// Update changes the caller's trunk named name and returns it. A change
// bumps updated_at, so that whoever caches the trunk's SIP stack builds it
// anew for the next call (calls in progress keep the old configuration);
// an update that changes nothing leaves the row as it was.
func (s *Service) Update(ctx context.Context, name string, u Update) (*Trunk, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = parley.ValidName("name", name, 100); err != nil {
		return nil, store.ErrNotFound("Trunk")
	}
	if u.Port != nil && *u.Port == 0 {
		return nil, parley.FieldError("port", "must be 1-65535")
	}
	if u.RingTimeout != nil && *u.RingTimeout == 0 {
		return nil, parley.FieldError("ring_timeout_s", "must be 5-300 seconds")
	}
	var id string
	err = s.DB.Write(ctx, func(q store.Querier) error {
		cur, err := found(scan(q.QueryRow(ctx, `SELECT `+columns+` FROM trunks WHERE company_id = ? AND name = ?`, cid, name)))
		if err != nil {
			return err
		}
		id = cur.UUID
		in := NewTrunk{Name: cur.Name, Host: cur.Host, Port: cur.Port, Transport: cur.Transport, Username: cur.Username,
			Password: cur.secret, CallerID: cur.CallerID, Codecs: cur.Codecs, RingTimeout: cur.RingTimeout, Refer: cur.Refer}
		for _, f := range []struct {
			to   *string
			from *string
		}{{&in.Host, u.Host}, {&in.Transport, u.Transport}, {&in.Username, u.Username}, {&in.Password, u.Password},
			{&in.CallerID, u.CallerID}, {&in.Codecs, u.Codecs}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		if u.Port != nil {
			in.Port = *u.Port
		}
		if u.Refer != nil {
			in.Refer = *u.Refer
		}
		if u.RingTimeout != nil {
			in.RingTimeout = *u.RingTimeout
		}
		if err := validate(&in); err != nil {
			return err
		}
		if in.Host == cur.Host && in.Port == cur.Port && in.Transport == cur.Transport && in.Username == cur.Username &&
			in.Password == cur.secret && in.CallerID == cur.CallerID && in.Codecs == cur.Codecs && in.RingTimeout == cur.RingTimeout && in.Refer == cur.Refer {
			return nil
		}
		// Strictly later than before, so that a cache keyed by updated_at
		// sees the change even within the millisecond of the last one.
		now := max(s.now().UnixMilli(), cur.UpdatedAt.UnixMilli()+1)
		_, err = q.Exec(ctx, `UPDATE trunks SET host = ?, port = ?, transport = ?, username = ?, password = ?, caller_id = ?,
			codecs = ?, ring_timeout_s = ?, refer = ?, updated_at = ? WHERE uuid = ? AND company_id = ?`, in.Host, in.Port, in.Transport,
			in.Username, in.Password, in.CallerID, in.Codecs, in.RingTimeout, in.Refer, now, cur.UUID, cid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Delete removes one of the caller's trunks by UUID. Calls in progress go
// on.
func (s *Service) Delete(ctx context.Context, trunkUUID string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return s.delete(ctx, `DELETE FROM trunks WHERE uuid = ? AND company_id = ?`, trunkUUID, cid)
}

// DeleteByName removes the caller's trunk named name. Calls in progress go
// on; agents naming it fall back to the server's built-in trunks.
func (s *Service) DeleteByName(ctx context.Context, name string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if name, err = parley.ValidName("name", name, 100); err != nil {
		return store.ErrNotFound("Trunk")
	}
	return s.delete(ctx, `DELETE FROM trunks WHERE company_id = ? AND name = ?`, cid, name)
}

func (s *Service) delete(ctx context.Context, query string, args ...any) error {
	var n int64
	err := s.DB.Write(ctx, func(q store.Querier) error {
		r, err := q.Exec(ctx, query, args...)
		if err == nil {
			n, err = r.RowsAffected()
		}
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound("Trunk")
	}
	return nil
}
