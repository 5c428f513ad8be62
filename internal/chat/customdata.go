package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/jwt"
)

// CustomerFlags are the chat's reserved customer attributes.
type CustomerFlags struct {
	VerifiedCustomer bool
	BadActor         bool
	RepeatCustomer   bool
}

// FlagsUpdate is a partial change of the customer flags.
type FlagsUpdate struct {
	VerifiedCustomer *bool
	BadActor         *bool
	RepeatCustomer   *bool
}

// SetFlags changes a chat's customer flags.
func (s *Service) SetFlags(ctx context.Context, chatID int64, u FlagsUpdate) (*CustomerFlags, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out CustomerFlags
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		out, err = t.setFlags(ctx, c, u)
		return err
	})
	return &out, err
}

func (t *tx) setFlags(ctx context.Context, c *Chat, u FlagsUpdate) (CustomerFlags, error) {
	f := c.Flags
	if u.VerifiedCustomer != nil {
		f.VerifiedCustomer = *u.VerifiedCustomer
	}
	if u.BadActor != nil {
		f.BadActor = *u.BadActor
	}
	if u.RepeatCustomer != nil {
		f.RepeatCustomer = *u.RepeatCustomer
	}
	if _, err := t.Exec(ctx, `UPDATE chats SET verified_customer = ?, bad_actor = ?, repeat_customer = ?, updated_at = ? WHERE id = ?`,
		f.VerifiedCustomer, f.BadActor, f.RepeatCustomer, t.nowMS(), c.ID); err != nil {
		return f, err
	}
	return f, t.log(ctx, c.ID, c.UUID, EventChatUpdated, map[string]any{"customer_flag": map[string]bool{
		"verified_customer": f.VerifiedCustomer, "bad_actor": f.BadActor, "repeat_customer": f.RepeatCustomer}})
}

// CustomField is one entry of a chat's custom data.
type CustomField struct {
	Label string `json:"label,omitempty"`
	Value any    `json:"value"`
}

// Reserved custom data fields: they set the customer flags.
var reservedFlags = map[string]func(*FlagsUpdate, bool){
	"reserved_verified_customer": func(u *FlagsUpdate, b bool) { u.VerifiedCustomer = &b },
	"reserved_bad_actor":         func(u *FlagsUpdate, b bool) { u.BadActor = &b },
	"reserved_repeat_customer":   func(u *FlagsUpdate, b bool) { u.RepeatCustomer = &b },
}

// MaxCustomFields bounds the fields of one custom data update.
const MaxCustomFields = 100

// SetCustomData merges fields into a chat's custom data. reserved_* fields
// must hold a boolean value and set the customer flags instead.
func (s *Service) SetCustomData(ctx context.Context, chatID int64, fields map[string]CustomField) (json.RawMessage, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, parley.FieldError("data", "must hold at least one field")
	}
	if len(fields) > MaxCustomFields {
		return nil, parley.FieldError("data", "at most %d fields", MaxCustomFields)
	}
	var flags FlagsUpdate
	hasFlags := false
	plain := map[string]CustomField{}
	for k, f := range fields {
		if _, err := parley.ValidName("data", k, MaxName); err != nil {
			return nil, err
		}
		if set, ok := reservedFlags[k]; ok {
			b, ok := f.Value.(bool)
			if !ok {
				return nil, parley.FieldError("data."+k, "value must be true or false")
			}
			set(&flags, b)
			hasFlags = true
			continue
		}
		if strings.HasPrefix(k, "reserved_") {
			return nil, parley.FieldError("data."+k, "unknown reserved field")
		}
		plain[k] = f
	}
	var merged []byte
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		cur := map[string]CustomField{}
		_ = json.Unmarshal(c.CustomData, &cur)
		for k, f := range plain {
			cur[k] = f
		}
		merged, err = json.Marshal(cur)
		if err != nil {
			return err
		}
		if len(merged) > MaxContext {
			return parley.FieldError("data", "the chat's custom data would exceed %d bytes", MaxContext)
		}
		if _, err := t.Exec(ctx, `UPDATE chats SET custom_data = ?, updated_at = ? WHERE id = ?`, string(merged), t.nowMS(), c.ID); err != nil {
			return err
		}
		if hasFlags {
			if _, err := t.setFlags(ctx, c, flags); err != nil {
				return err
			}
		}
		return t.log(ctx, c.ID, c.UUID, EventChatUpdated, map[string]any{"custom_data": json.RawMessage(merged)})
	})
	return merged, err
}

// SignedCustomData verifies custom data signed by the company: an HS256 JWT
// made with the company secret, with exp and iat, whose custom_data claim
// holds the fields. Any other algorithm, a bad signature or an expired
// token is EINVALID.
func (s *Service) SignedCustomData(ctx context.Context, token string) (map[string]CustomField, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var secret string
	if err := s.DB.Reader().QueryRow(ctx, `SELECT secret FROM companies WHERE id = ?`, cid).Scan(&secret); err != nil {
		return nil, err
	}
	var claims struct {
		CustomData map[string]CustomField `json:"custom_data"`
		jwt.Claims
	}
	if err := s.customDataVerifier().Verify(token, []byte(secret), &claims); errors.Is(err, jwt.ErrNoIssuedAt) {
		return nil, parley.FieldError("signed_data", "must have an iat claim")
	} else if err != nil {
		return nil, parley.FieldError("signed_data", "is not a valid HS256 JWT signed with the company secret (with exp and iat): %s", parley.Clip(err.Error()))
	}
	if claims.CustomData == nil {
		return nil, parley.FieldError("signed_data", "must have a custom_data claim")
	}
	return claims.CustomData, nil
}

// customDataLeeway tolerates the clock skew between a company's signer and
// Parley.
const customDataLeeway = 30 * time.Second

func (s *Service) customDataVerifier() *jwt.Verifier {
	return jwt.NewVerifier(jwt.Rules{Leeway: customDataLeeway, RequireIssuedAt: true, Now: s.now})
}
