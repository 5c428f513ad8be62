package ratelimit

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// TestBucketsBounded: however many distinct clients come within a minute,
// the limiter keeps at most MaxKeys buckets; past that, new clients are
// refused until idle buckets can be forgotten.
func TestBucketsBounded(t *testing.T) {
	l := NewBuckets(Rate{PerMinute: 10, Burst: 10})
	for i := range MaxKeys + 1000 {
		l.Allow(fmt.Sprintf("ip:%d", i))
	}
	if n := l.Len(); n > MaxKeys {
		t.Fatalf("%d buckets, want at most %d", n, MaxKeys)
	}
	if l.Allow(fmt.Sprintf("ip:%d", MaxKeys+1)) {
		t.Fatal("a new client was let in while the table was full")
	}
	if !l.Allow("ip:0") {
		t.Fatal("a known client lost its budget when the map was full")
	}
}

func TestBucketsRate(t *testing.T) {
	l := NewBuckets(Rate{PerMinute: 1, Burst: 3})
	for i := range 3 {
		if !l.Allow("k") {
			t.Fatalf("take %d refused within the burst", i)
		}
	}
	if l.Allow("k") {
		t.Fatal("a fourth take within the minute was allowed")
	}
	if !l.Allow("other") {
		t.Fatal("another key shares the budget")
	}
}

func TestBackoffWaits(t *testing.T) {
	b := Backoff{Free: 3, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour}
	for n, want := range map[int]time.Duration{0: 0, 1: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 5: 4 * time.Second,
		6: 8 * time.Second, 7: 10 * time.Second, 60: 10 * time.Second, 1 << 20: 10 * time.Second} {
		if got := b.wait(n); got != want {
			t.Errorf("wait(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestFailures: free failures, then waits that grow; a refund takes back
// one failure, forgiving forgets them; keys are independent.
func TestFailures(t *testing.T) {
	l := NewFailures(Backoff{Free: 3, Base: time.Hour, Max: 4 * time.Hour, Forget: 24 * time.Hour})
	for i := range 2 {
		if w := l.Fail("a"); w != 0 {
			t.Fatalf("free failure %d imposed %v", i, w)
		}
		if l.Wait("a") != 0 {
			t.Fatalf("a waits within its free failures")
		}
	}
	if w := l.Fail("a"); w != time.Hour {
		t.Fatalf("third failure imposed %v", w)
	}
	if w := l.Wait("a"); w <= 59*time.Minute || w > time.Hour {
		t.Fatalf("a waits %v after its third failure", w)
	}
	if l.Wait("b") != 0 || l.Count("b") != 0 {
		t.Fatal("b pays for a")
	}
	if w := l.Fail("a"); w != 2*time.Hour {
		t.Fatalf("fourth failure imposed %v", w)
	}
	l.Refund("a")
	if l.Count("a") != 3 {
		t.Fatalf("count after a refund: %d", l.Count("a"))
	}
	if l.Wait("a") == 0 {
		t.Fatal("a refund lifted a wait already imposed")
	}
	l.Forgive("a")
	if l.Wait("a") != 0 || l.Count("a") != 0 {
		t.Fatal("forgiven, a still waits")
	}
}

// TestFailuresBounded: a flood of distinct keys keeps the table at
// MaxKeys; newcomers push others out instead of being locked out, and
// keys in their wait are pushed out last.
func TestFailuresBounded(t *testing.T) {
	l := NewFailures(Backoff{Free: 2, Base: time.Hour, Max: time.Hour, Forget: time.Hour})
	l.Fail("victim")
	l.Fail("victim") // waiting now
	for i := range MaxKeys + 1000 {
		l.Fail(fmt.Sprintf("k%d", i))
	}
	if n := l.Len(); n > MaxKeys {
		t.Fatalf("%d keys, want at most %d", n, MaxKeys)
	}
	if l.Count(fmt.Sprintf("k%d", MaxKeys+999)) != 1 {
		t.Fatal("the newest key was not recorded")
	}
	if l.Wait("victim") == 0 {
		t.Fatal("a key made to wait was pushed out before keys that were not")
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:1":             "192.0.2.7",
		"[::ffff:192.0.2.8]:1":    "192.0.2.8",
		"[2001:db8:1:2::1]:4242":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::]:1": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:1":     "2001:db8:1:3::/64",
		"[fe80::1%eth0]:1":        "fe80::/64",
		"not an address":          "not an address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := ClientKey(r); got != want {
			t.Errorf("ClientKey(%s) = %q, want %q", addr, got, want)
		}
	}
}

// TestFailuresTry: concurrent attempts see each other: once the free
// failures are taken, the next attempt waits even though none has failed
// yet.
func TestFailuresTry(t *testing.T) {
	l := NewFailures(Backoff{Free: 3, Base: time.Hour, Max: time.Hour, Forget: time.Hour})
	for i := range 3 {
		if w := l.Try("k"); w != 0 {
			t.Fatalf("attempt %d waits %v", i+1, w)
		}
	}
	if w := l.Try("k"); w == 0 {
		t.Fatal("a fourth concurrent attempt passed")
	}
	if l.Count("k") != 3 {
		t.Fatalf("a refused attempt was counted: %d", l.Count("k"))
	}
}
