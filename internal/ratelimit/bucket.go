package ratelimit

import "time"

// Rate is a token bucket: PerMinute tokens a minute, at most Burst saved.
type Rate struct {
	PerMinute float64
	Burst     float64
}

// Or is r, or def if r is not a usable rate.
func (r Rate) Or(def Rate) Rate {
	if r.PerMinute <= 0 || r.Burst <= 0 {
		return def
	}
	return r
}

// Buckets keeps one token bucket per key. A key seen for the first time
// when MaxKeys keys are remembered and none is idle is refused: the
// limiter fails closed rather than forget a client's spending.
type Buckets struct {
	rate Rate
	t    *table[bucket]
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets returns token buckets of rate r.
func NewBuckets(r Rate) *Buckets {
	full := time.Duration(r.Burst / r.PerMinute * float64(time.Minute))
	return &Buckets{rate: r, t: newTable(func(b *bucket, now time.Time) bool {
		return now.Sub(b.at) > full // refilled: a new bucket for the key would be the same
	})}
}

// Allow takes a token of key's bucket, reporting whether one was left.
func (l *Buckets) Allow(key string) bool {
	now := time.Now()
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	b := l.t.lookup(key, now, true)
	if b == nil {
		return false
	}
	if b.at.IsZero() {
		b.tokens, b.at = l.rate.Burst, now
	}
	b.tokens = min(l.rate.Burst, b.tokens+now.Sub(b.at).Minutes()*l.rate.PerMinute)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Len is the number of keys remembered.
func (l *Buckets) Len() int { return l.t.size() }
