package loadgen_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/loadgen"
	"github.com/parley-cc/parley/internal/testenv"
)

// heapInUse is the in-process heap the runtime holds for objects (live or
// not yet swept) and free spans it keeps: runtime.MemStats.HeapInuse.
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// TestLoginFloodBench measures a correct login's latency while 300 bad
// logins run concurrently, against a server in this process with its
// default limits (one hash slot per CPU). It is a benchmark, not a check:
// it runs only with PARLEY_BENCH=1 and reports into the log (see
// docs/benchmarks.md):
//
//	PARLEY_BENCH=1 go test -count=1 -run TestLoginFloodBench -v -timeout 10m ./internal/loadgen/
//
// Scenarios, each on a fresh server: the correct logins alone (the
// baseline), 300 bad logins from 4 addresses, and 300 bad logins from 300
// addresses (each a client of its own).
func TestLoginFloodBench(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") != "1" {
		t.Skip("a benchmark: set PARLEY_BENCH=1 to run it")
	}
	d := 20 * time.Second
	if v, err := time.ParseDuration(os.Getenv("PARLEY_BENCH_DURATION")); err == nil && v > 0 {
		d = v
	}
	addrs := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s.%d.%d", prefix, i/250, i%250+1)
		}
		return out
	}
	scenarios := []struct {
		name    string
		workers int
		from    []string
	}{
		{"baseline", 0, nil},
		{"300 bad logins from 4 addresses", 300, addrs("127.2", 4)},
		{"300 bad logins from 300 addresses", 300, addrs("127.3", 300)},
	}
	var base time.Duration
	for i, sc := range scenarios {
		env := testenv.Start(t, testenv.SQLiteDSN(t))
		victim := env.NewTenant(t, fmt.Sprintf("Victim%d", i))
		other := env.NewTenant(t, fmt.Sprintf("Target%d", i))
		bad := []string{other.Login, other.OperatorLogin}
		for j := range 50 {
			bad = append(bad, fmt.Sprintf("ghost-%d-%d", i, j)) // logins that do not exist
		}
		runtime.GC()
		rep, err := loadgen.LoginFlood{
			BaseURL: env.URL(), GoodLogin: victim.OperatorLogin, GoodPassword: victim.Password, GoodFrom: "127.0.0.1",
			BadFrom: sc.from, BadLogins: bad, Workers: sc.workers, Duration: d, Heap: heapInUse,
		}.Run(context.Background())
		if err != nil {
			t.Fatalf("%s: %v (%v)", sc.name, err, rep)
		}
		st := env.Users.Hashes.Stats()
		t.Logf("%s: %v; hash gate: %d slots, queue %d, peak %d at once, %d refused", sc.name, rep, st.Slots, st.QueueMax, st.PeakRunning, st.Refused)
		if sc.workers == 0 {
			base = rep.P99
		} else if base > 0 {
			t.Logf("%s: correct-login p99 %.1fx the baseline's", sc.name, float64(rep.P99)/float64(base))
		}
	}
}
