package dialer

import (
	"context"
	"sync"
	"time"
)

// DefaultCallsPerSecond is the rate of a trunk that names none (the
// built-in ones): the common carrier default for SIP trunking.
const DefaultCallsPerSecond = 10

// RatedTrunk is a Trunk with a calls-per-second limit of its own (a
// company's SIP trunk: its calls_per_second).
type RatedTrunk interface {
	CallsPerSecond() float64
}

// trunkKey names the trunk a call goes through: a company's own trunk by
// company and name, a built-in one (shared by every company) by name.
type trunkKey struct {
	company int64
	name    string
}

// pacer keeps a token bucket per trunk: each trunk starts at most its
// rate of calls a second on this node, with a burst of one second's worth.
// It runs on the wall clock (the dialer's Now is the clock of time slots,
// which tests move).
type pacer struct {
	mu      sync.Mutex
	buckets map[trunkKey]*tokens
}

type tokens struct {
	n    float64
	at   time.Time
	rate float64
}

func burst(rate float64) float64 { return max(1, rate) }

// available is how many calls trunk k may start now at rate a second.
func (p *pacer) available(k trunkKey, rate float64, now time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bucket(k, rate, now)
	return int(b.n)
}

// spend takes n calls from trunk k's bucket.
func (p *pacer) spend(k trunkKey, rate float64, n int, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bucket(k, rate, now)
	b.n -= float64(n)
}

func (p *pacer) bucket(k trunkKey, rate float64, now time.Time) *tokens {
	if p.buckets == nil {
		p.buckets = map[trunkKey]*tokens{}
	}
	b, ok := p.buckets[k]
	if !ok {
		b = &tokens{n: burst(rate), at: now, rate: rate}
		p.buckets[k] = b
	}
	if b.rate != rate { // the trunk's setting changed: keep what was spent
		b.rate = rate
		b.n = min(b.n, burst(rate))
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.n = min(burst(rate), b.n+el*rate)
		b.at = now
	}
	return b
}

// forget drops the buckets that have refilled, so the map holds only
// trunks that dialled within the last seconds.
func (p *pacer) forget(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, b := range p.buckets {
		if b.n+now.Sub(b.at).Seconds()*b.rate >= burst(b.rate) {
			delete(p.buckets, k)
		}
	}
}

// trunkRate is the trunk an agent's calls go through, as the rate limiter
// keys it, and its calls per second. A trunk that cannot be resolved is
// paced as a built-in one: its calls fail when placed anyway.
func (d *Dialer) trunkRate(ctx context.Context, companyID int64, name string) (trunkKey, float64) {
	def := d.DefaultCPS
	if def <= 0 {
		def = DefaultCallsPerSecond
	}
	var t Trunk
	key := trunkKey{name: name}
	if d.TrunkResolver != nil {
		if own, err := d.TrunkResolver(ctx, companyID, name); err == nil && own != nil {
			t, key = own, trunkKey{company: companyID, name: name}
		}
	}
	if t == nil {
		t = d.Trunks[name]
	}
	if r, ok := t.(RatedTrunk); ok && r.CallsPerSecond() > 0 {
		return key, r.CallsPerSecond()
	}
	return key, def
}
