package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/store"
)

// VirtualAgents runs the menu's agent script in chats in va_assigned.
//
// A run keeps no state between messages: it replays the script from the
// start over the stored transcript. s.say() consumes the chat's earlier
// virtual-agent messages in order and, once they are used up, produces new
// ones; s.listen() consumes the end user's messages in order and, once
// they are used up, suspends the run until the next one arrives. Scripts
// are deterministic (no clock, no randomness, no I/O), so a replay makes
// the same choices, and a chat survives any restart of any node.
//
// Runs of one chat are serialised by va_seen_seq, the highest message seq
// a run read: a run commits its new messages only if va_seen_seq is still
// what it was when the run began, in the transaction that advances it.
type VirtualAgents struct {
	Chats *Service
	Log   *slog.Logger
	// Every is the safety poll: how often chats with unanswered messages
	// are swept up besides the sweep at start (a wake-up lost to a crash,
	// a message another node's events did not bring). Default
	// DefaultSafetyPoll.
	Every time.Duration

	mu      sync.Mutex
	pending map[[2]int64]bool // (company, chat)
	wake    chan struct{}
	cache   script.Cache
}

// Limits of a chat's virtual agent.
const (
	// MaxVATranscript bounds the messages a replay reads; a longer chat is
	// escalated to a human.
	MaxVATranscript = 2000
	vaRunTimeout    = 30 * time.Second
)

func (v *VirtualAgents) init() {
	v.mu.Lock()
	if v.pending == nil {
		v.pending = map[[2]int64]bool{}
		v.wake = make(chan struct{}, 1)
	}
	v.mu.Unlock()
}

// Notice schedules a run for chat events that give the virtual agent
// something to do: a chat it serves was created, or its end user wrote.
func (v *VirtualAgents) Notice(ev events.Event) {
	switch ev.Type {
	case EventChatCreated:
		if ev.Data["status"] != StatusVA {
			return
		}
	case EventMessageCreated:
		if ev.Data["status"] != StatusVA || ev.Data["sender_type"] != SenderEndUser {
			return
		}
	default:
		return
	}
	v.init()
	v.mu.Lock()
	v.pending[[2]int64{ev.CompanyID, ev.ChatID}] = true
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// Run serves chats until ctx ends.
func (v *VirtualAgents) Run(ctx context.Context) {
	v.init()
	every := v.Every
	if every <= 0 {
		every = DefaultSafetyPoll
	}
	t := time.NewTicker(every)
	defer t.Stop()
	sweep := func() {
		if err := v.sweep(ctx); err != nil && ctx.Err() == nil {
			v.Log.Error("virtual agents: sweep failed", "error", err)
		}
	}
	sweep() // what was left unanswered before this node started
	for first := true; ; first = false {
		// The start's sweep is run at once, not after the first wake-up
		// or safety poll (which may be half a minute away).
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-v.wake:
			case <-t.C:
				sweep()
			}
		}
		for ctx.Err() == nil {
			v.mu.Lock()
			var job [2]int64
			found := false
			for k := range v.pending {
				job, found = k, true
				delete(v.pending, k)
				break
			}
			v.mu.Unlock()
			if !found {
				break
			}
			if err := v.RunChat(ctx, job[0], job[1]); err != nil && ctx.Err() == nil {
				v.Log.Error("virtual agent run failed", "chat_id", job[1], "error", err)
			}
		}
	}
}

// sweep queues every chat whose virtual agent has an unanswered message.
func (v *VirtualAgents) sweep(ctx context.Context) error {
	due, err := store.Collect(ctx, v.Chats.DB.Reader(), func(r store.Scanner) (job [2]int64, err error) {
		err = r.Scan(&job[1], &job[0])
		return job, err
	}, `SELECT c.id, c.company_id FROM chats c
		WHERE c.status = ? AND (c.va_seen_seq < 0 OR EXISTS (SELECT 1 FROM chat_messages m
			WHERE m.chat_id = c.id AND m.seq > c.va_seen_seq AND m.sender_type = ?)) LIMIT 1000`, StatusVA, SenderEndUser)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, job := range due {
		v.pending[job] = true // (company, chat)
	}
	return nil
}

// errSuspend ends a replay at an s.listen() the transcript cannot answer.
var errSuspend = errors.New("virtual agent waits for the end user")

// replayHost is a script's view of a chat during a replay.
type replayHost struct {
	said  []string // earlier virtual-agent messages, in order
	heard []string // the end user's messages, in order
	out   []string // new messages of this run
}

func (h *replayHost) Say(_ context.Context, text string) error {
	if len(h.said) > 0 {
		h.said = h.said[1:] // said in an earlier run
		return nil
	}
	h.out = append(h.out, text)
	return nil
}

func (h *replayHost) Listen(context.Context, time.Duration, []string) (string, bool, error) {
	if len(h.heard) == 0 {
		return "", false, errSuspend
	}
	u := h.heard[0]
	h.heard = h.heard[1:]
	return u, true, nil
}

// RunChat replays the virtual agent of one chat and commits what it says
// and does. It does nothing for a chat not in va_assigned.
func (v *VirtualAgents) RunChat(ctx context.Context, cid, chatID int64) error {
	ctx, cancel := context.WithTimeout(parley.WithCaller(ctx, parley.Caller{CompanyID: cid, Role: parley.RoleAdmin}), vaRunTimeout)
	defer cancel()
	s := v.Chats
	for attempt := 0; attempt < 5; attempt++ {
		c, err := getChat(ctx, s.DB.Reader(), cid, chatID)
		if err != nil {
			return err
		}
		if c.Status != StatusVA || c.VirtualAgentID == nil {
			return nil
		}
		done, err := v.runOnce(ctx, c)
		if err != nil || done {
			return err
		}
	}
	return nil // others keep winning; their runs cover what this one saw
}

func (v *VirtualAgents) runOnce(ctx context.Context, c *Chat) (done bool, err error) {
	s := v.Chats
	prog, outputs, err := v.load(ctx, c)
	if err != nil {
		return false, err
	}
	host := &replayHost{}
	var seen int
	// Only text turns are replayed: the starting transcript, photos and
	// videos are not things a script said or heard. seen still covers them.
	n := 0
	err = eachRow(ctx, s.DB.Reader(), `SELECT seq, sender_type, type, content FROM chat_messages
		WHERE chat_id = ? AND company_id = ? ORDER BY seq LIMIT ?`, []any{c.ID, c.CompanyID, MaxVATranscript + 1}, func(r store.Scanner) error {
		var sender, typ, content string
		if err := r.Scan(&seen, &sender, &typ, &content); err != nil {
			return err
		}
		n++
		if typ != "text" {
			return nil
		}
		switch sender {
		case SenderVirtualAgent:
			host.said = append(host.said, content)
		case SenderEndUser:
			host.heard = append(host.heard, content)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	outcome := &script.Outcome{Kind: script.Transfer, Reason: "transcript_too_long", Outputs: map[string]string{}}
	var runErr error
	if n <= MaxVATranscript {
		outcome, runErr = prog.Run(ctx, "", host, script.Config{Entities: chatEntities(c), Outputs: outputs, Channel: script.Chat})
	}
	suspended := errors.Is(runErr, errSuspend)
	if runErr != nil && !suspended {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// A broken script must not strand the customer: hand over.
		v.Log.Warn("virtual agent script failed; escalating", "chat_id", c.ID, "error", runErr)
		outcome.Kind, outcome.Reason = script.Transfer, "virtual_agent_error"
	}
	outJSON, _ := json.Marshal(outcome.Outputs)
	err = s.write(ctx, c.CompanyID, func(t *tx) error {
		cur, err := getChat(ctx, t.Querier, c.CompanyID, c.ID)
		if err != nil {
			return err
		}
		if cur.Status != StatusVA || cur.VASeenSeq != c.VASeenSeq {
			return errRaced
		}
		for _, text := range host.out {
			if err := validContent(text); err != nil {
				text = parley.Clip(text) // an over-long say is cut, not lost
			}
			m, err := t.appendMessage(ctx, cur, nil, SenderVirtualAgent, "text", text, "")
			if err != nil {
				return err
			}
			if err := t.logMessage(ctx, cur, m); err != nil {
				return err
			}
		}
		res, err := t.Exec(ctx, `UPDATE chats SET va_seen_seq = ?, va_outputs = ? WHERE id = ? AND company_id = ? AND va_seen_seq = ?`,
			seen, string(outJSON), c.ID, c.CompanyID, c.VASeenSeq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errRaced
		}
		cur.VASeenSeq = seen
		if suspended {
			return nil
		}
		switch outcome.Kind {
		case script.Transfer:
			_, err := t.escalate(ctx, cur, EscalationInput{Reason: fallback(outcome.Reason, "virtual_agent_transfer")})
			return err
		default: // completed or hangup: the virtual agent closed the conversation
			return t.end(ctx, cur, StatusChange{Status: StatusFinished})
		}
	})
	if errors.Is(err, errRaced) {
		return false, nil
	}
	return err == nil, err
}

func fallback(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// load returns the compiled "main" script of the chat's virtual agent
// (the default script when it has none) and its output entity names.
func (v *VirtualAgents) load(ctx context.Context, c *Chat) (*script.Program, []string, error) {
	r, err := agent.LoadRunnable(ctx, v.Chats.DB.Reader(), *c.VirtualAgentID, "main")
	if err != nil {
		return nil, nil, err
	}
	prog, err := v.cache.Compile(r.Name+".star", r.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("compile %s: %w", r.Name, err)
	}
	return prog, r.Outputs, nil
}

// chatEntities is s.entities of a chat: the scalar fields of its context
// (of context.value when the creator used the seed's {"value": {...}}
// form) as strings, and its language.
func chatEntities(c *Chat) map[string]string {
	out := map[string]string{"lang": c.Lang}
	var obj map[string]any
	if json.Unmarshal(c.Context, &obj) != nil {
		return out
	}
	if inner, ok := obj["value"].(map[string]any); ok {
		obj = inner
	}
	for k, val := range obj {
		switch x := val.(type) {
		case string:
			out[k] = x
		case float64, bool:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}
