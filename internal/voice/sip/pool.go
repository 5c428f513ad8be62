package sip

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/egress"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/sdp"
)

// Pool builds the SIP stacks of the companies' trunks for the dialer, by
// an agent's trunk_name, and keeps each while its configuration holds.
// The configurations themselves belong to internal/trunk.
type Pool struct {
	// Configs finds a company's trunk by name (a *trunk.Service).
	Configs interface {
		ByName(ctx context.Context, companyID int64, name string) (*trunk.Trunk, error)
	}
	Synth audio.Synthesizer
	Log   *slog.Logger
	// Recognizer transcribes for every trunk built here; nil: none.
	Recognizer Recognizer
	// Speech, with Agents, gives each call the calling agent's voice and
	// recognizer (its tts, asr and keys) instead of Synth and Recognizer.
	Speech *speech.Registry
	Agents interface {
		Speech(ctx context.Context, agentID int64) (*agent.Speech, error)
	}
	// PublicIP is every trunk's Config.PublicIP (PARLEY_PUBLIC_IP).
	PublicIP netip.Addr
	// Guard is every trunk's Config.Guard: the companies' trunk hosts are
	// checked again at each dial (PARLEY_TRUNK_ALLOW_PRIVATE turns it off).
	Guard *egress.Guard
	// VAD and JitterMin are every trunk's (PARLEY_VOICE_END_SILENCE,
	// PARLEY_VOICE_GRAMMAR_SILENCE, PARLEY_VOICE_STABLE_SILENCE,
	// PARLEY_VOICE_JITTER_MIN).
	VAD       VAD
	JitterMin time.Duration
	// Prepare, if set, runs once in the background when the first
	// company trunk is resolved (a call is about to be placed): it warms
	// the recognizer, so a node that never places a SIP call never loads
	// a model.
	Prepare func()

	prepare sync.Once

	mu    sync.Mutex
	cache map[cacheKey]*cached
}

type cacheKey struct {
	company int64
	name    string
}

type cached struct {
	uuid    string // a trunk deleted and re-created under its name is another
	updated time.Time
	trunk   *Trunk
}

// Resolve is the dialer's TrunkResolver: the company's trunk named name,
// or nil (no error) when it has none, so the dialer falls back to the
// server's built-in trunks. A trunk is built once and rebuilt when its
// configuration changes; its SIP stack lives as long as the Pool.
func (p *Pool) Resolve(ctx context.Context, companyID int64, name string) (dialer.Trunk, error) {
	t, err := p.Configs.ByName(ctx, companyID, name)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	key := cacheKey{companyID, name}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cache[key]; ok && c.uuid == t.UUID && c.updated.Equal(t.UpdatedAt) {
		return c.trunk, nil
	}
	laws, _ := sdp.ParseCodecs(t.Codecs)
	tr, err := New(Config{Name: t.Name, Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username,
		Password: t.Secret(), CallerID: t.CallerID, Codecs: laws, Ring: time.Duration(t.RingTimeout) * time.Second, Refer: t.Refer,
		PublicIP: p.PublicIP, Guard: p.Guard, CPS: t.CPS})
	if err != nil {
		return nil, err
	}
	tr.Synth, tr.Log, tr.Recognizer = p.Synth, p.Log, p.Recognizer
	tr.VAD, tr.JitterMin = p.VAD, p.JitterMin
	if p.Prepare != nil {
		p.prepare.Do(func() { go p.Prepare() })
	}
	if p.Speech != nil && p.Agents != nil {
		tr.Speech = p.callSpeech
	}
	if p.cache == nil {
		p.cache = map[cacheKey]*cached{}
	}
	if old, ok := p.cache[key]; ok {
		// Calls in progress on the old configuration keep its stack
		// until they end; close it after the longest call could last.
		time.AfterFunc(2*time.Hour, func() { old.trunk.Close() })
	}
	p.cache[key] = &cached{uuid: t.UUID, updated: t.UpdatedAt, trunk: tr}
	return tr, nil
}

// Close releases every cached trunk's SIP stack.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.cache {
		c.trunk.Close()
		delete(p.cache, k)
	}
}
