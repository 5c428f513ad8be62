// Package loadgen holds load generators that drive a Parley server over
// HTTP and report what its users would see. They are functions, not
// commands, so that a benchmark binary, a test or a one-off program can
// run them against a server in process or in another process.
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoginFlood is the scenario: Workers clients send bad logins as fast as
// they are answered, from the BadFrom addresses in turn, while one client
// logs in correctly again and again from GoodFrom. What matters is the
// correct login's latency and the server's heap.
type LoginFlood struct {
	BaseURL                 string // e.g. http://127.0.0.1:8080
	GoodLogin, GoodPassword string
	// GoodFrom and BadFrom are local addresses the clients connect from
	// ("" lets the system choose). On Linux every 127.x.y.z is loopback,
	// so one machine can play many clients.
	GoodFrom string
	BadFrom  []string
	// BadLogins are tried in turn with random wrong passwords: logins
	// that exist, logins that do not.
	BadLogins []string
	Workers   int           // concurrent bad logins; default 300
	Duration  time.Duration // default 20s
	// GoodPause is the pause between two correct logins; default 20ms.
	GoodPause time.Duration
	// Heap, if set, is sampled every 10ms for the report's peak (e.g.
	// runtime/metrics in process, or /metrics of another process).
	Heap func() uint64
}

// LoginFloodReport is what a LoginFlood saw.
type LoginFloodReport struct {
	Workers, Sources int
	Duration         time.Duration
	// The correct logins: how many, how they were answered, and the
	// latency of those that succeeded.
	Good          int
	GoodOK        int
	GoodRefused   int // 429: the server was too busy or held the client up
	GoodOther     int
	P50, P99, Max time.Duration
	// The bad logins by status (0: a transport error).
	Bad         int
	BadByStatus map[int]int
	// Heap: before the flood and the highest sample during it.
	HeapBefore, HeapPeak uint64
}

func (r *LoginFloodReport) String() string {
	return fmt.Sprintf("workers %d from %d addresses, %s: correct logins %d (ok %d, 429 %d, other %d), p50 %s p99 %s max %s; "+
		"bad logins %d %v; heap %.1f MiB before, peak %.1f MiB",
		r.Workers, r.Sources, r.Duration, r.Good, r.GoodOK, r.GoodRefused, r.GoodOther,
		r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond),
		r.Bad, r.BadByStatus, float64(r.HeapBefore)/(1<<20), float64(r.HeapPeak)/(1<<20))
}

// Run runs the flood until Duration has passed or ctx ends. Workers 0 runs
// the correct logins alone: the baseline.
func (f LoginFlood) Run(ctx context.Context) (*LoginFloodReport, error) {
	if f.Duration <= 0 {
		f.Duration = 20 * time.Second
	}
	if f.GoodPause <= 0 {
		f.GoodPause = 20 * time.Millisecond
	}
	if len(f.BadFrom) == 0 {
		f.BadFrom = []string{""}
	}
	if f.Workers > 0 && len(f.BadLogins) == 0 {
		return nil, fmt.Errorf("loadgen: a flood needs BadLogins")
	}
	rep := &LoginFloodReport{Workers: f.Workers, Sources: len(f.BadFrom), Duration: f.Duration, BadByStatus: map[int]int{}}
	if f.Workers == 0 {
		rep.Sources = 0
	}
	if f.Heap != nil {
		rep.HeapBefore = f.Heap()
	}
	ctx, cancel := context.WithTimeout(ctx, f.Duration)
	defer cancel()

	var wg sync.WaitGroup
	var peak atomic.Uint64
	if f.Heap != nil {
		wg.Go(func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				if h := f.Heap(); h > peak.Load() {
					peak.Store(h)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}

	// The flood: one client (connection pool) per source address.
	clients := make([]*http.Client, len(f.BadFrom))
	perSource := (f.Workers + len(f.BadFrom) - 1) / max(len(f.BadFrom), 1)
	for i, from := range f.BadFrom {
		clients[i] = clientFrom(from, perSource)
	}
	var mu sync.Mutex
	for w := range f.Workers {
		wg.Go(func() {
			c := clients[w%len(clients)]
			byStatus := map[int]int{}
			for n := 0; ctx.Err() == nil; n++ {
				login := f.BadLogins[(w+n)%len(f.BadLogins)]
				status, _ := postLogin(ctx, c, f.BaseURL, login, randomPassword())
				if ctx.Err() != nil {
					break // cut off by the end of the run: not an answer
				}
				byStatus[status]++
			}
			mu.Lock()
			for s, n := range byStatus {
				rep.BadByStatus[s] += n
				rep.Bad += n
			}
			mu.Unlock()
		})
	}

	// The correct logins, one at a time.
	good := clientFrom(f.GoodFrom, 1)
	var lat []time.Duration
	for ctx.Err() == nil {
		start := time.Now()
		status, err := postLogin(ctx, good, f.BaseURL, f.GoodLogin, f.GoodPassword)
		took := time.Since(start)
		if ctx.Err() != nil {
			break
		}
		rep.Good++
		switch {
		case err == nil && status == http.StatusOK:
			rep.GoodOK++
			lat = append(lat, took)
		case status == http.StatusTooManyRequests:
			rep.GoodRefused++
		default:
			rep.GoodOther++
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.GoodPause):
		}
	}
	wg.Wait()
	for _, c := range append(clients, good) {
		c.CloseIdleConnections()
	}
	rep.HeapPeak = max(peak.Load(), rep.HeapBefore)
	if len(lat) > 0 {
		slices.Sort(lat)
		at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
		rep.P50, rep.P99, rep.Max = at(0.50), at(0.99), lat[len(lat)-1]
	}
	if rep.GoodOK == 0 {
		return rep, fmt.Errorf("loadgen: no correct login succeeded (%d tried)", rep.Good)
	}
	return rep, nil
}

func clientFrom(local string, conns int) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}}
}

func postLogin(ctx context.Context, c *http.Client, base, login, password string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v2/ext/auth", nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(login, password)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func randomPassword() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "guess-" + hex.EncodeToString(b)
}
