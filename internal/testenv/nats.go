package testenv

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// NATSURL returns the NATS server of the tests (PARLEY_TEST_NATS_URL,
// default nats://127.0.0.1:4222). Without one the test is skipped, unless
// PARLEY_TEST_NATS=1 (CI) makes that a failure.
func NATSURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_NATS_URL")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	pu, err := url.Parse(u)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
			c.Close()
			return u
		}
	}
	if os.Getenv("PARLEY_TEST_NATS") == "1" {
		t.Fatalf("NATS is required (PARLEY_TEST_NATS=1) and not reachable at %s: %v "+
			"(start nats-server, or set PARLEY_TEST_NATS_URL)", u, err)
	}
	t.Skipf("no NATS server at %s (%v): set PARLEY_TEST_NATS=1 to make this a failure", u, err)
	return ""
}
