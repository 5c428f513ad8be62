package widget

import (
	"sync"
	"time"
)

// Rate is a token bucket: PerMinute tokens a minute, at most Burst saved.
type Rate struct {
	PerMinute float64
	Burst     float64
}

func (r Rate) or(def Rate) Rate {
	if r.PerMinute <= 0 || r.Burst <= 0 {
		return def
	}
	return r
}

// maxBuckets bounds a limiter's memory: past it, keys it does not know yet
// are refused until idle buckets can be forgotten. Keys are clients (an
// IPv4 address or an IPv6 /64) or chats, so only a flood from that many
// distinct clients within a minute reaches it.
const maxBuckets = 100_000

// limiter keeps one token bucket per key, in memory: each node limits on
// its own. Idle buckets are forgotten.
type limiter struct {
	rate    Rate
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(r Rate) *limiter { return &limiter{rate: r, buckets: map[string]*bucket{}} }

// allow takes a token of key's bucket, reporting whether one was left.
func (l *limiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	full := time.Duration(l.rate.Burst / l.rate.PerMinute * float64(time.Minute))
	b := l.buckets[key]
	if b == nil && len(l.buckets) >= maxBuckets && now.Sub(l.swept) > time.Second {
		l.sweep(now, full) // full: forget the idle ones now rather than in a minute
	}
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now, full)
	}
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			return false
		}
		b = &bucket{tokens: l.rate.Burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.rate.Burst, b.tokens+now.Sub(b.at).Minutes()*l.rate.PerMinute)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets the buckets that have been idle long enough to be full
// again: a new bucket for their key would be the same.
func (l *limiter) sweep(now time.Time, full time.Duration) {
	for k, b := range l.buckets {
		if now.Sub(b.at) > full {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
