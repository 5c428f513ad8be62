package chat

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Canned responses: texts an operator inserts by typing "/shortcut".
// Company-wide ones are managed by admin and api users; personal ones
// belong to one operator, who alone sees and changes them. A text may
// hold placeholders ({{customer.name}}, ...) filled in for a chat by
// CannedFor.

// Canned is one canned response.
type Canned struct {
	ID       int64
	Personal bool // the calling operator's own; false: company-wide
	Shortcut string
	Content  string
	// Text is Content with its placeholders filled in for one chat
	// (CannedFor); "" elsewhere.
	Text      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Limits of canned responses.
const (
	MaxCannedPerCompany  = 1000 // company-wide ones
	MaxCannedPerOperator = 200  // one operator's own
	MaxCannedContent     = 5000 // runes
)

var shortcutRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// NewCanned is the input of CreateCanned and UpdateCanned (nil: unchanged).
type NewCanned struct {
	Shortcut *string
	Content  *string
	Personal bool // CreateCanned only
}

func validCanned(in NewCanned, create bool) error {
	if create && (in.Shortcut == nil || in.Content == nil) {
		return parley.Errorf(parley.EINVALID, "A canned response needs a shortcut and a content.")
	}
	if in.Shortcut != nil {
		*in.Shortcut = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(*in.Shortcut)), "/")
		if !shortcutRE.MatchString(*in.Shortcut) {
			return parley.FieldError("shortcut", "must be 1 to 32 of a-z, 0-9, - and _, starting with a letter or digit")
		}
	}
	if in.Content != nil {
		if strings.TrimSpace(*in.Content) == "" {
			return parley.FieldError("content", "is required")
		}
		return parley.ValidText("content", *in.Content, MaxCannedContent)
	}
	return nil
}

// owner is the owner_operator_id the caller writes: their operator for a
// personal response (operators write only those), 0 for a company one.
func cannedOwner(g *Sight, personal bool) (int64, error) {
	if g.Staff() {
		if personal {
			return 0, parley.FieldError("personal", "only operators have personal canned responses")
		}
		return 0, nil
	}
	if !personal {
		return 0, parley.Errorf(parley.EFORBIDDEN, "Operators keep personal canned responses; company-wide ones are an administrator's.")
	}
	return g.Operator, nil
}

const cannedColumns = `id, owner_operator_id, shortcut, content, created_at, updated_at`

func scanCanned(r store.Scanner) (*Canned, error) {
	c := &Canned{}
	var owner, created, updated int64
	err := r.Scan(&c.ID, &owner, &c.Shortcut, &c.Content, &created, &updated)
	c.Personal, c.CreatedAt, c.UpdatedAt = owner != 0, ms(created), ms(updated)
	return c, err
}

// CreateCanned adds a canned response: company-wide for admin and api
// callers, personal for operators.
func (s *Service) CreateCanned(ctx context.Context, in NewCanned) (*Canned, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := validCanned(in, true); err != nil {
		return nil, err
	}
	var out *Canned
	err = s.write(ctx, cid, func(t *tx) error {
		g, err := t.sight(ctx)
		if err != nil {
			return err
		}
		owner, err := cannedOwner(g, in.Personal)
		if err != nil {
			return err
		}
		limit := MaxCannedPerCompany
		if owner != 0 {
			limit = MaxCannedPerOperator
		}
		var n int
		if err := t.QueryRow(ctx, `SELECT COUNT(*) FROM canned_responses WHERE company_id = ? AND owner_operator_id = ?`, t.cid, owner).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return parley.Errorf(parley.ECONFLICT, "There are %d canned responses already, the most allowed.", limit)
		}
		out, err = scanCanned(t.QueryRow(ctx, `INSERT INTO canned_responses (company_id, owner_operator_id, shortcut, content, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+cannedColumns, t.cid, owner, *in.Shortcut, *in.Content, t.nowMS(), t.nowMS()))
		if errors.Is(err, store.ErrUnique) {
			return &parley.Error{Code: parley.ECONFLICT, Message: fmt.Sprintf("The shortcut /%s is taken.", *in.Shortcut),
				Fields: map[string]string{"shortcut": "already used"}}
		}
		return err
	})
	return out, err
}

// cannedNotFound is the error of a response the caller may not address.
func cannedNotFound(id int64) error {
	return store.ErrNotFound("Canned response " + strconv.FormatInt(id, 10))
}

// UpdateCanned changes a canned response the caller owns (an operator
// their own; admin and api users the company's).
func (s *Service) UpdateCanned(ctx context.Context, id int64, in NewCanned) (*Canned, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if in.Shortcut == nil && in.Content == nil {
		return nil, parley.Errorf(parley.EINVALID, "Nothing to change: give shortcut or content.")
	}
	if err := validCanned(in, false); err != nil {
		return nil, err
	}
	var out *Canned
	err = s.write(ctx, cid, func(t *tx) error {
		owner, err := t.cannedOwnerOf(ctx)
		if err != nil {
			return err
		}
		cur, err := scanCanned(t.QueryRow(ctx, `SELECT `+cannedColumns+` FROM canned_responses WHERE id = ? AND company_id = ? AND owner_operator_id = ?`, id, t.cid, owner))
		if errors.Is(err, store.ErrNoRows) {
			return cannedNotFound(id)
		} else if err != nil {
			return err
		}
		if in.Shortcut == nil {
			in.Shortcut = &cur.Shortcut
		}
		if in.Content == nil {
			in.Content = &cur.Content
		}
		out, err = scanCanned(t.QueryRow(ctx, `UPDATE canned_responses SET shortcut = ?, content = ?, updated_at = ? WHERE id = ? RETURNING `+cannedColumns,
			*in.Shortcut, *in.Content, t.nowMS(), id))
		if errors.Is(err, store.ErrUnique) {
			return &parley.Error{Code: parley.ECONFLICT, Message: fmt.Sprintf("The shortcut /%s is taken.", *in.Shortcut),
				Fields: map[string]string{"shortcut": "already used"}}
		}
		return err
	})
	return out, err
}

// cannedOwnerOf is the owner_operator_id whose responses the caller manages.
func (t *tx) cannedOwnerOf(ctx context.Context) (int64, error) {
	g, err := t.sight(ctx)
	if err != nil {
		return 0, err
	}
	return g.Operator, nil
}

// DeleteCanned removes a canned response the caller owns.
func (s *Service) DeleteCanned(ctx context.Context, id int64) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, cid, func(t *tx) error {
		owner, err := t.cannedOwnerOf(ctx)
		if err != nil {
			return err
		}
		res, err := t.Exec(ctx, `DELETE FROM canned_responses WHERE id = ? AND company_id = ? AND owner_operator_id = ?`, id, t.cid, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return cannedNotFound(id)
		}
		return nil
	})
}

// ListCanned lists the canned responses the caller may use: the company's
// and, for an operator, their own, by shortcut (a personal one first when
// both use a shortcut: it overrides the company's).
func (s *Service) ListCanned(ctx context.Context) ([]*Canned, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Canned
	err = s.DB.Read(ctx, func(q store.Querier) error {
		g, err := sightOf(ctx, q, cid, s.now())
		if err != nil {
			return err
		}
		out, err = listCanned(ctx, q, cid, g.Operator)
		return err
	})
	return out, err
}

func listCanned(ctx context.Context, q store.Querier, cid, op int64) ([]*Canned, error) {
	out, err := store.Collect(ctx, q, scanCanned, `SELECT `+cannedColumns+` FROM canned_responses
		WHERE company_id = ? AND owner_operator_id IN (0, ?) ORDER BY shortcut, owner_operator_id DESC`, cid, op)
	if out == nil && err == nil {
		out = []*Canned{}
	}
	return out, err
}

// CannedFor lists the caller's canned responses for a chat they see, each
// with Text: its placeholders filled in from the chat ({{customer.name}},
// {{customer.email}}, {{customer.phone}}, {{operator.name}}, {{chat.id}});
// an unknown placeholder stays as written.
func (s *Service) CannedFor(ctx context.Context, chatID int64) ([]*Canned, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Canned
	err = s.DB.Read(ctx, func(q store.Querier) error {
		g, err := sightOf(ctx, q, cid, s.now())
		if err != nil {
			return err
		}
		c, err := g.chat(ctx, q, chatID)
		if err != nil {
			return err
		}
		u, err := getEndUser(ctx, q, cid, c.EndUserID)
		if err != nil {
			return err
		}
		vals := map[string]string{"customer.name": u.Name, "customer.email": u.Email, "customer.phone": u.Phone,
			"chat.id": strconv.FormatInt(c.ID, 10), "operator.name": ""}
		if !g.Staff() {
			o, err := getOperator(ctx, q, cid, g.Operator)
			if err != nil {
				return err
			}
			vals["operator.name"] = o.Name
		}
		if out, err = listCanned(ctx, q, cid, g.Operator); err != nil {
			return err
		}
		for _, k := range out {
			k.Text = placeholderRE.ReplaceAllStringFunc(k.Content, func(m string) string {
				if v, ok := vals[strings.TrimSpace(m[2:len(m)-2])]; ok {
					return v
				}
				return m
			})
		}
		return nil
	})
	return out, err
}

var placeholderRE = regexp.MustCompile(`\{\{\s*[a-z_.]+\s*\}\}`)
