package agent

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/store"
)

// Script is a virtual-agent script stored under a name.
type Script struct {
	AgentUUID string
	Name      string
	Source    string
	UpdatedAt time.Time
}

// MaxScriptBytes bounds a script's source.
const MaxScriptBytes = 256 << 10

var scriptNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$`)

// PutScript stores a script under a name, replacing an older version. A
// script that does not compile is refused with the line and column of the
// error, so a broken script never reaches a call.
func (s *Service) PutScript(ctx context.Context, agentUUID, name, source string) (*Script, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if !scriptNameRe.MatchString(name) {
		return nil, parley.FieldError("name", "must be 1 to 100 letters, digits, '_', '.' or '-'")
	}
	if strings.TrimSpace(source) == "" {
		return nil, parley.FieldError("source", "is required")
	}
	if len(source) > MaxScriptBytes {
		return nil, parley.FieldError("source", "must be at most %d bytes", MaxScriptBytes)
	}
	if err := parley.ValidText("source", source, MaxScriptBytes); err != nil {
		return nil, err
	}
	if _, err := script.Compile(name+".star", source); err != nil {
		// Reported on the request's field, with the script's position.
		var ce *script.CompileError
		if errors.As(err, &ce) {
			return nil, parley.FieldError("source", "line %d, column %d: %s", ce.Line, ce.Column, ce.Msg)
		}
		return nil, err
	}
	now := s.now().Truncate(time.Millisecond)
	err = s.DB.Write(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO agent_scripts (company_id, agent_id, name, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent_id, name) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at`,
			cid, aid, name, source, now.UnixMilli(), now.UnixMilli())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Script{AgentUUID: agentUUID, Name: name, Source: source, UpdatedAt: now}, nil
}

// ListScripts returns an agent's scripts without their sources.
func (s *Service) ListScripts(ctx context.Context, agentUUID string) ([]Script, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out := []Script{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		scs, err := store.Collect(ctx, q, func(r store.Scanner) (Script, error) {
			sc := Script{AgentUUID: agentUUID}
			var at int64
			err := r.Scan(&sc.Name, &at)
			sc.UpdatedAt = time.UnixMilli(at).UTC()
			return sc, err
		}, `SELECT name, updated_at FROM agent_scripts WHERE agent_id = ? AND company_id = ? ORDER BY name`, aid, cid)
		out = append(out, scs...)
		return err
	})
	return out, err
}

// GetScript returns one script with its source.
func (s *Service) GetScript(ctx context.Context, agentUUID, name string) (*Script, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	sc := &Script{AgentUUID: agentUUID, Name: name}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		var at int64
		err = q.QueryRow(ctx, `SELECT source, updated_at FROM agent_scripts WHERE agent_id = ? AND company_id = ? AND name = ?`, aid, cid, name).Scan(&sc.Source, &at)
		if errors.Is(err, store.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "Script %q not found.", parley.Clip(name))
		}
		sc.UpdatedAt = time.UnixMilli(at).UTC()
		return err
	})
	if err != nil {
		return nil, err
	}
	return sc, nil
}

// DeleteScript removes a script; dialogs naming it then run the default.
func (s *Service) DeleteScript(ctx context.Context, agentUUID, name string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return s.DB.Write(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		res, err := q.Exec(ctx, `DELETE FROM agent_scripts WHERE agent_id = ? AND company_id = ? AND name = ?`, aid, cid, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "Script %q not found.", parley.Clip(name))
		}
		return nil
	})
}

// ScriptProblem is one reason a script does not compile, at its position.
type ScriptProblem struct {
	Line, Column int
	Message      string
}

// CheckScript compiles a source for one of the caller's agents without
// storing it: nil problems means the script would be accepted by PutScript.
// An unknown or foreign agent is refused like everywhere else; a source
// that is too large or not text is a field error, not a problem.
func (s *Service) CheckScript(ctx context.Context, agentUUID, source string) ([]ScriptProblem, error) {
	if _, err := s.Get(ctx, agentUUID); err != nil {
		return nil, err
	}
	if len(source) > MaxScriptBytes {
		return nil, parley.FieldError("source", "must be at most %d bytes", MaxScriptBytes)
	}
	if err := parley.ValidText("source", source, MaxScriptBytes); err != nil {
		return nil, err
	}
	if strings.TrimSpace(source) == "" {
		return []ScriptProblem{{Line: 1, Column: 1, Message: "the script is empty"}}, nil
	}
	if _, err := script.Compile("script.star", source); err != nil {
		var ce *script.CompileError
		if errors.As(err, &ce) {
			return []ScriptProblem{{Line: ce.Line, Column: ce.Column, Message: ce.Msg}}, nil
		}
		return nil, err
	}
	return nil, nil
}

// Runnable is what a run of an agent's script needs: the script's name and
// source (script.DefaultScript's when the agent has no script of that name)
// and the agent's output entity names.
type Runnable struct {
	Name    string
	Source  string
	Outputs []string
}

// LoadRunnable reads the script name of agent agentID (an internal id,
// checked by the caller) for a dialer call or a chat.
func LoadRunnable(ctx context.Context, q store.Querier, agentID int64, name string) (*Runnable, error) {
	r := &Runnable{Name: name}
	err := q.QueryRow(ctx, `SELECT source FROM agent_scripts WHERE agent_id = ? AND name = ?`, agentID, name).Scan(&r.Source)
	if errors.Is(err, store.ErrNoRows) {
		r.Name, r.Source = "default", script.DefaultScript
	} else if err != nil {
		return nil, err
	}
	r.Outputs, err = store.Collect(ctx, q, func(s store.Scanner) (n string, err error) {
		err = s.Scan(&n)
		return n, err
	}, `SELECT name FROM agent_entities WHERE agent_id = ? AND kind = 'output' ORDER BY name`, agentID)
	if err != nil {
		return nil, err
	}
	return r, nil
}
