package sip

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
)

// TestRTPLoad is the benchmark of docs/benchmarks.md ("Real voice"): N
// concurrent calls against one sipp UAS echoing RTP, each playing a
// prompt for PARLEY_SIP_BENCH_SECONDS (default 10) while receiving its
// echo, and the fraction of RTP packets sent more than 20 ms after their
// slot. It runs only with PARLEY_SIP_BENCH set to the list of N
// ("25,50,100,150").
func TestRTPLoad(t *testing.T) {
	spec := os.Getenv("PARLEY_SIP_BENCH")
	if spec == "" {
		t.Skip("set PARLEY_SIP_BENCH=25,50,100,150 to run")
	}
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("PARLEY_SIP_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("bad N %q", f)
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) { loadRun(t, n, time.Duration(secs)*time.Second) })
	}
}

func loadRun(t *testing.T, n int, d time.Duration) {
	uas := startSipp(t, "uas_answer.xml", n)
	tr := newTestTrunk(t, uas.port, func(c *Config) { c.Ring = 20 * time.Second; c.NoResponse = 10 * time.Second })
	tone := audio.PCM{Rate: audio.Rate, Samples: make([]int16, int(d/time.Second)*audio.Rate)}
	for i := range tone.Samples {
		tone.Samples[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(i)/audio.Rate))
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+60*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		total MediaStats
		fails int
		wg    sync.WaitGroup
	)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 10 * time.Millisecond) // a call setup every 10 ms
			conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: fmt.Sprint(1000 + i)})
			if err != nil || result != dialer.ResultAnswered {
				mu.Lock()
				fails++
				mu.Unlock()
				t.Logf("call %d: %s %v", i, result, err)
				return
			}
			_ = conn.Play(ctx, tone)
			_, _ = conn.Hangup(ctx)
			st := conn.Stats()
			mu.Lock()
			total.Sent += st.Sent
			total.Late += st.Late
			total.Received += st.Received
			total.MaxLate = max(total.MaxLate, st.MaxLate)
			total.Jitter.Lost += st.Jitter.Lost
			mu.Unlock()
		}()
	}
	wg.Wait()
	frac := float64(total.Late) / float64(max(total.Sent, 1))
	t.Logf("N=%d calls, %v each, GOMAXPROCS=%d: sent %d, late %d (%.3f%%), max lateness %v, received %d, lost %d, failed calls %d, wall %v",
		n, d, runtime.GOMAXPROCS(0), total.Sent, total.Late, 100*frac, total.MaxLate, total.Received, total.Jitter.Lost, fails, time.Since(start).Round(time.Millisecond))
	if fails > 0 {
		t.Errorf("%d calls failed", fails)
	}
	uas.wait(t)
}
