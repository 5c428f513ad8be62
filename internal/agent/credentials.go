package agent

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// MaskSecret hides all but the last four characters of a key. Keys are
// written through the API but never read back whole: a leaked read token
// must not leak the company's cloud keys.
func MaskSecret(v string) string {
	r := []rune(v) // by characters: cutting bytes would garble non-ASCII keys
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", 8) + string(r[len(r)-4:])
}

func validateCredential(c *Credential) error {
	var err error
	if c.Name, err = parley.ValidName("name", c.Name, 200); err != nil {
		return err
	}
	if !keyPlatforms[c.Platform] {
		return parley.FieldError("platform", "must be google or yandex, got %q", parley.Clip(c.Platform))
	}
	if !credentialKeys[c.KeyType] {
		return parley.FieldError("key_type", "must be asr or tts, got %q", parley.Clip(c.KeyType))
	}
	if c.Value == "" || len(c.Value) > 16384 {
		return parley.FieldError("value", "must be 1 to 16384 bytes")
	}
	return parley.ValidText("value", c.Value, 16384)
}

// ValidKeyType checks the key_type filter of the credential list.
func ValidKeyType(s string) error {
	if s != "" && !credentialKeys[s] {
		return parley.FieldError("key_type", "must be asr or tts, got %q", parley.Clip(s))
	}
	return nil
}

// ListCredentials returns an agent's keys, optionally of one key type, with
// their values masked.
func (s *Service) ListCredentials(ctx context.Context, agentUUID, keyType string) ([]Credential, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidKeyType(keyType); err != nil {
		return nil, err
	}
	out := []Credential{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		cs, err := store.Collect(ctx, q, scanCredential(agentUUID), `SELECT uuid, name, platform, key_type, value FROM agent_credentials
			WHERE agent_id = ? AND company_id = ? AND (? = '' OR key_type = ?) ORDER BY id`, aid, cid, keyType, keyType)
		for _, c := range cs {
			c.Value = MaskSecret(c.Value)
			out = append(out, c)
		}
		return err
	})
	return out, err
}

// CreateCredential adds a key to an agent.
func (s *Service) CreateCredential(ctx context.Context, agentUUID string, c Credential) (*Credential, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateCredential(&c); err != nil {
		return nil, err
	}
	c.UUID, c.AgentUUID = uuid.NewString(), agentUUID
	err = s.DB.Write(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM agent_credentials WHERE agent_id = ?`, aid).Scan(&n); err != nil {
			return err
		}
		if n >= MaxCredentialsPerAgt {
			return parley.Errorf(parley.ECONFLICT, "An agent holds at most %d credentials.", MaxCredentialsPerAgt)
		}
		_, err = q.Exec(ctx, `INSERT INTO agent_credentials (uuid, company_id, agent_id, name, platform, key_type, value, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.UUID, cid, aid, c.Name, c.Platform, c.KeyType, c.Value, s.now().UnixMilli())
		return err
	})
	if err != nil {
		return nil, err
	}
	c.Value = MaskSecret(c.Value)
	return &c, nil
}

// UpdateCredential edits a key. A value equal to the masked form that reads
// return keeps the stored key, so a client may send back what it read.
func (s *Service) UpdateCredential(ctx context.Context, credUUID string, u CredentialUpdate) (*Credential, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidUUID("credential_uuid", credUUID); err != nil {
		return nil, err
	}
	if u.UUID != nil && *u.UUID != credUUID {
		return nil, parley.FieldError("uuid", "does not match the credential in the path")
	}
	var c Credential
	err = s.DB.Write(ctx, func(q store.Querier) error {
		var id int64
		err := q.QueryRow(ctx, `SELECT k.id, k.uuid, a.uuid, k.name, k.platform, k.key_type, k.value
			FROM agent_credentials k JOIN agents a ON a.id = k.agent_id WHERE k.uuid = ? AND k.company_id = ?`, credUUID, cid).
			Scan(&id, &c.UUID, &c.AgentUUID, &c.Name, &c.Platform, &c.KeyType, &c.Value)
		if errors.Is(err, store.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "Credential %s not found.", credUUID)
		} else if err != nil {
			return err
		}
		if u.AgentUUID != nil && *u.AgentUUID != c.AgentUUID {
			return parley.FieldError("agent_uuid", "a credential cannot move to another agent")
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		if u.Platform != nil {
			c.Platform = *u.Platform
		}
		if u.KeyType != nil {
			c.KeyType = *u.KeyType
		}
		if u.Value != nil && *u.Value != MaskSecret(c.Value) {
			c.Value = *u.Value
		}
		if err := validateCredential(&c); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE agent_credentials SET name = ?, platform = ?, key_type = ?, value = ? WHERE id = ? AND company_id = ?`,
			c.Name, c.Platform, c.KeyType, c.Value, id, cid)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.Value = MaskSecret(c.Value)
	return &c, nil
}

// Speech is an agent's speech settings with its keys in clear, for the
// dialer's speech engines. It is an internal read: never return it through
// an API (ListCredentials is the masked, company-scoped view).
type Speech struct {
	Language    string
	ASR         string // "", "pocketsphinx", "google", "yandex" or an asr credential's UUID
	TTS         string // "voice@platform"
	Credentials []Credential
}

// LoadSpeech reads the speech settings and unmasked credentials of the
// agent with row id agentID. It is not scoped to a caller: the dialer,
// which already holds the agent's id from its own claim, is its user.
func LoadSpeech(ctx context.Context, q store.Querier, agentID int64) (*Speech, error) {
	var s Speech
	var agentUUID string
	err := q.QueryRow(ctx, `SELECT uuid, language, asr, tts FROM agents WHERE id = ?`, agentID).Scan(&agentUUID, &s.Language, &s.ASR, &s.TTS)
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Agent %d not found.", agentID)
	}
	if err != nil {
		return nil, err
	}
	s.Credentials, err = store.Collect(ctx, q, scanCredential(agentUUID),
		`SELECT uuid, name, platform, key_type, value FROM agent_credentials WHERE agent_id = ? ORDER BY id`, agentID)
	return &s, err
}

// scanCredential scans the credentials of the agent agentUUID.
func scanCredential(agentUUID string) func(store.Scanner) (Credential, error) {
	return func(r store.Scanner) (Credential, error) {
		c := Credential{AgentUUID: agentUUID}
		err := r.Scan(&c.UUID, &c.Name, &c.Platform, &c.KeyType, &c.Value)
		return c, err
	}
}
