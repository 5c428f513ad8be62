// Package ratelimit holds the in-memory limiters of requests that anyone
// can send: token buckets (chat starts and posts of the widget) and
// failure backoff (logins). Keys are clients (ClientKey), logins or chats.
// Each node limits on its own; every table is bounded, so a flood of
// distinct keys costs a fixed amount of memory.
package ratelimit

import (
	"sync"
	"time"
)

// MaxKeys bounds the keys a limiter remembers. Keys are clients (an IPv4
// address or an IPv6 /64), logins or chats, so only a flood from that many
// distinct keys within the time a key needs to become idle reaches it.
const MaxKeys = 100_000

// table is the bounded map of per-key state every limiter keeps. Idle
// entries (those a fresh entry would equal) are forgotten by a sweep at
// most once a minute, or once a second when the table is full.
type table[S any] struct {
	mu    sync.Mutex
	max   int
	m     map[string]*S
	swept time.Time
	// idle reports whether an entry may be forgotten at now.
	idle func(s *S, now time.Time) bool
}

func newTable[S any](idle func(*S, time.Time) bool) *table[S] {
	return &table[S]{max: MaxKeys, m: map[string]*S{}, idle: idle}
}

// lookup returns key's entry, creating it if create; nil if the table is
// full of entries that are not idle (or if !create and there is none).
// The caller holds mu.
func (t *table[S]) lookup(key string, now time.Time, create bool) *S {
	s := t.m[key]
	if s != nil || !create {
		t.maybeSweep(now, false)
		return s
	}
	t.maybeSweep(now, len(t.m) >= t.max)
	if len(t.m) >= t.max {
		return nil
	}
	s = new(S)
	t.m[key] = s
	return s
}

func (t *table[S]) maybeSweep(now time.Time, full bool) {
	every := time.Minute
	if full {
		every = time.Second // full: forget the idle ones now rather than in a minute
	}
	if now.Sub(t.swept) <= every {
		return
	}
	for k, s := range t.m {
		if t.idle(s, now) {
			delete(t.m, k)
		}
	}
	t.swept = now
}

// evictOne makes room by forgetting one entry: among a few looked at (Go
// starts a map's iteration at a random place), the first that prefer
// accepts, else the first. Looking at a few keeps this O(1) while a flood
// fills the table. The caller holds mu.
func (t *table[S]) evictOne(prefer func(*S) bool) {
	victim, seen := "", 0
	for k, s := range t.m {
		if seen == 0 {
			victim = k
		}
		if prefer(s) {
			victim = k
			break
		}
		if seen++; seen == 16 {
			break
		}
	}
	delete(t.m, victim)
}

// size is the number of keys remembered.
func (t *table[S]) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
