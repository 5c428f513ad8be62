package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/parley-cc/parley"
)

// Argon2id parameters: OWASP's second recommended set (19 MiB, t=2, p=1),
// which keeps a login near 20 ms on a small machine.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns a PHC-format argon2id hash of password, through the
// default hash gate.
func HashPassword(ctx context.Context, password string) (string, error) {
	return DefaultHashGate.HashPassword(ctx, password)
}

// HashPassword returns a PHC-format argon2id hash of password. It waits
// for a slot of the gate; a full gate is an ERATELIMITED error.
func (g *HashGate) HashPassword(ctx context.Context, password string) (string, error) {
	if err := g.acquire(ctx); err != nil {
		return "", err
	}
	defer g.release()
	return hashPassword(password)
}

// hashPassword hashes without the gate.
func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks password against hash through the default hash
// gate.
func VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	return DefaultHashGate.VerifyPassword(ctx, hash, password)
}

// VerifyPassword checks password against a hash made by HashPassword, using
// the parameters stored in the hash so that they can be raised later. It
// waits for a slot of the gate; a full gate is an ERATELIMITED error.
func (g *HashGate) VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("auth: unknown password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("auth: unsupported argon2 version")
	}
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false, fmt.Errorf("auth: bad argon2 parameters: %w", err)
	}
	if mem > 1<<20 || t > 16 || p > 16 {
		return false, fmt.Errorf("auth: argon2 parameters out of range: m=%d,t=%d,p=%d", mem, t, p)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, err
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, err
	}
	if err := g.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	g.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// HashGate bounds the password hashes computed at once. Each argon2id
// hash takes 19 MiB and a CPU for tens of milliseconds, so hashes are
// computed at most a few at a time (by default one per CPU) and only a
// short queue may wait for a slot: past it a hash is refused at once
// (ERATELIMITED, retry after a second) instead of piling up memory and
// latency for everyone. 300 concurrent logins then cost what a handful
// does, and a correct login waits behind a short queue, not behind the
// flood.
//
// Waiters come in two classes. Hashes for logins from clients or of logins
// that recently failed (Deprioritize) are served after the others, and
// when the queue is full a newcomer of the first class takes the place of
// the newest waiter of the second, which is refused. So a client that
// keeps guessing delays its own attempts, not other people's.
//
// A server has one gate for all its hashes; it guards the process's CPUs
// and memory.
type HashGate struct {
	mu       sync.Mutex
	size     int // slots
	queueMax int
	running  int
	high     []*hashWaiter // FIFO
	low      []*hashWaiter // FIFO
	peak     int
	refused  atomic.Int64
}

// DefaultHashGate serves HashPassword, VerifyPassword and the users
// services that have no gate of their own.
var DefaultHashGate = NewHashGate(0, 0)

// NewHashGate returns a gate computing at most concurrency hashes at once
// (0: one per CPU the process may use) with at most queue waiting (0: four
// per slot).
func NewHashGate(concurrency, queue int) *HashGate {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = 4 * concurrency
	}
	return &HashGate{size: concurrency, queueMax: queue}
}

// HashGateStats is what a gate has seen.
type HashGateStats struct {
	Slots, QueueMax int   // its limits
	Running, Queued int   // now
	PeakRunning     int   // the most hashes computed at once
	Refused         int64 // hashes refused because the queue was full
}

// Stats reports the gate's figures.
func (g *HashGate) Stats() HashGateStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return HashGateStats{Slots: g.size, QueueMax: g.queueMax, Running: g.running, Queued: len(g.high) + len(g.low),
		PeakRunning: g.peak, Refused: g.refused.Load()}
}

type lowPriorityKey struct{}

// Deprioritize marks ctx's hashes as those of a suspect attempt (a client
// or login with recent failures): they wait behind the others.
func Deprioritize(ctx context.Context) context.Context {
	return context.WithValue(ctx, lowPriorityKey{}, true)
}

// Deprioritized reports whether ctx's hashes wait behind the others.
func Deprioritized(ctx context.Context) bool { v, _ := ctx.Value(lowPriorityKey{}).(bool); return v }

// errGateFull is the refusal of a full gate; it says nothing about the
// login, so known and unknown logins are refused alike.
func errGateFull() error {
	return parley.RateLimited(time.Second, "Too many logins at once; try again in a moment.")
}

type hashWaiter struct {
	ready chan bool // true: a slot is yours; false: refused (pushed out of the queue)
	done  bool      // answered (under mu)
}

func (g *HashGate) acquire(ctx context.Context) error {
	low := Deprioritized(ctx)
	g.mu.Lock()
	if g.running < g.size && len(g.high)+len(g.low) == 0 {
		g.take()
		g.mu.Unlock()
		return nil
	}
	if len(g.high)+len(g.low) >= g.queueMax {
		if low || len(g.low) == 0 {
			g.mu.Unlock()
			g.refused.Add(1)
			return errGateFull()
		}
		// Make room: the newest suspect waiter is refused.
		w := g.low[len(g.low)-1]
		g.low = g.low[:len(g.low)-1]
		w.done = true
		w.ready <- false
		g.refused.Add(1)
	}
	w := &hashWaiter{ready: make(chan bool, 1)}
	if low {
		g.low = append(g.low, w)
	} else {
		g.high = append(g.high, w)
	}
	g.mu.Unlock()
	select {
	case ok := <-w.ready:
		if !ok {
			return errGateFull()
		}
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		if !w.done {
			g.high = remove(g.high, w)
			g.low = remove(g.low, w)
			w.done = true
			g.mu.Unlock()
			return ctx.Err()
		}
		g.mu.Unlock()
		if <-w.ready { // answered meanwhile: give the slot back
			g.release()
		}
		return ctx.Err()
	}
}

// take counts a slot as used; the caller holds mu.
func (g *HashGate) take() {
	g.running++
	g.peak = max(g.peak, g.running)
}

func (g *HashGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	for g.running < g.size && len(g.high)+len(g.low) > 0 {
		var w *hashWaiter
		if len(g.high) > 0 {
			w, g.high = g.high[0], g.high[1:]
		} else {
			w, g.low = g.low[0], g.low[1:]
		}
		w.done = true
		g.take()
		w.ready <- true
	}
}

func remove(ws []*hashWaiter, w *hashWaiter) []*hashWaiter {
	for i, x := range ws {
		if x == w {
			return append(ws[:i], ws[i+1:]...)
		}
	}
	return ws
}
