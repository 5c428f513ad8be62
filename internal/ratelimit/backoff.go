package ratelimit

import "time"

// Backoff is a policy for keys that fail (wrong passwords): the Free-th
// failure and every further one make the key wait before its next
// attempt, Base first, doubling up to Max. Failures older than Forget are
// forgotten.
type Backoff struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// Or fills the zero fields of b from def.
func (b Backoff) Or(def Backoff) Backoff {
	if b.Free <= 0 {
		b.Free = def.Free
	}
	if b.Base <= 0 {
		b.Base = def.Base
	}
	if b.Max <= 0 {
		b.Max = def.Max
	}
	if b.Forget <= 0 {
		b.Forget = def.Forget
	}
	return b
}

// wait is the wait imposed after n failures.
func (b Backoff) wait(n int) time.Duration {
	over := n - b.Free
	if over < 0 {
		return 0
	}
	if over > 40 {
		return b.Max
	}
	w := b.Base << over
	if w <= 0 || w > b.Max {
		return b.Max
	}
	return w
}

// Failures counts failures per key under a Backoff. When MaxKeys keys are
// remembered, a new key pushes out another (an idle one if there is one):
// refusing new keys would lock every newcomer out during a distributed
// attack, the very moment logins matter.
type Failures struct {
	policy Backoff
	t      *table[failures]
}

type failures struct {
	n     int
	last  time.Time // the latest failure
	until time.Time // no attempt before this
}

// NewFailures returns a failure counter under policy b.
func NewFailures(b Backoff) *Failures {
	return &Failures{policy: b, t: newTable(func(f *failures, now time.Time) bool {
		return now.Sub(f.last) > b.Forget && !now.Before(f.until)
	})}
}

// Wait is how long key must wait before its next attempt; 0 if it may try
// now.
func (l *Failures) Wait(key string) time.Duration {
	now := time.Now()
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	f := l.t.lookup(key, now, false)
	if f == nil || !now.Before(f.until) {
		return 0
	}
	return f.until.Sub(now)
}

// Count is key's failures that are not forgotten yet.
func (l *Failures) Count(key string) int {
	now := time.Now()
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	f := l.t.lookup(key, now, false)
	if f == nil || now.Sub(f.last) > l.policy.Forget {
		return 0
	}
	return f.n
}

// Fail records a failure of key and returns the wait it now imposes (0
// before its Free-th failure).
func (l *Failures) Fail(key string) time.Duration {
	now := time.Now()
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	return l.failLocked(key, now)
}

func (l *Failures) failLocked(key string, now time.Time) time.Duration {
	f := l.t.lookup(key, now, true)
	if f == nil {
		l.t.evictOne(func(f *failures) bool { return !now.Before(f.until) }) // keep the keys made to wait
		f = l.t.lookup(key, now, true)
	}
	if now.Sub(f.last) > l.policy.Forget {
		f.n = 0
	}
	f.n++
	f.last = now
	w := l.policy.wait(f.n)
	if until := now.Add(w); until.After(f.until) {
		f.until = until
	}
	return w
}

// Try is an attempt of key that may fail: if key must wait, it answers
// the wait and records nothing; otherwise it records a failure at once
// (take it back with Refund or Forgive when the attempt succeeds) and
// answers 0. Checking and recording under one lock is what keeps
// concurrent attempts from all passing before the first has counted.
func (l *Failures) Try(key string) time.Duration {
	now := time.Now()
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	if f := l.t.lookup(key, now, false); f != nil && now.Before(f.until) {
		return f.until.Sub(now)
	}
	l.failLocked(key, now)
	return 0
}

// Refund takes back one failure of key, recorded before its outcome was
// known (an attempt that then succeeded or was never judged). A wait
// already imposed stays.
func (l *Failures) Refund(key string) {
	now := time.Now()
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	if f := l.t.lookup(key, now, false); f != nil && f.n > 0 {
		f.n--
	}
}

// Forgive forgets key's failures and any wait (a correct password).
func (l *Failures) Forgive(key string) {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	delete(l.t.m, key)
}

// Len is the number of keys remembered.
func (l *Failures) Len() int { return l.t.size() }
