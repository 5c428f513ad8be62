package bridgebench

import (
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Runtime is what one process's Go runtime and the kernel saw over the
// measured window: it tells a late frame's cause (a goroutine waiting
// for a thread, a GC pause, a full socket buffer) from Parley's own work.
type Runtime struct {
	CPU                time.Duration // user and system CPU time of the process
	SchedP99, SchedMax time.Duration // runnable goroutines' wait for a thread (/sched/latencies)
	GCPauseMax         time.Duration
	GCCycles           uint64
	AllocBytes         uint64 // heap allocated
	AllocObjects       uint64
}

// runtimeMark is the process's counters at a moment.
type runtimeMark struct {
	cpu                      time.Duration
	sched, gcPauses          *metrics.Float64Histogram
	gcCycles, bytes, objects uint64
}

func markRuntime() runtimeMark {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}, {Name: "/gc/pauses:seconds"}, {Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	m := runtimeMark{cpu: processCPU()}
	hist := func(v metrics.Value) *metrics.Float64Histogram {
		if v.Kind() != metrics.KindFloat64Histogram {
			return &metrics.Float64Histogram{}
		}
		h := v.Float64Histogram()
		return &metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	}
	count := func(v metrics.Value) uint64 {
		if v.Kind() != metrics.KindUint64 {
			return 0
		}
		return v.Uint64()
	}
	m.sched, m.gcPauses = hist(s[0].Value), hist(s[1].Value)
	m.gcCycles, m.bytes, m.objects = count(s[2].Value), count(s[3].Value), count(s[4].Value)
	return m
}

// since is what happened between m and now.
func (m runtimeMark) since() Runtime {
	now := markRuntime()
	sched := histDelta(m.sched, now.sched)
	return Runtime{CPU: now.cpu - m.cpu, SchedP99: histQuantile(sched, 0.99), SchedMax: histQuantile(sched, 1),
		GCPauseMax: histQuantile(histDelta(m.gcPauses, now.gcPauses), 1), GCCycles: now.gcCycles - m.gcCycles,
		AllocBytes: now.bytes - m.bytes, AllocObjects: now.objects - m.objects}
}

func histDelta(a, b *metrics.Float64Histogram) *metrics.Float64Histogram {
	d := &metrics.Float64Histogram{Buckets: b.Buckets, Counts: make([]uint64, len(b.Counts))}
	for i := range b.Counts {
		d.Counts[i] = b.Counts[i]
		if i < len(a.Counts) {
			d.Counts[i] -= a.Counts[i]
		}
	}
	return d
}

// histQuantile is the upper bound of the bucket holding quantile q (the
// runtime's buckets are a few per power of two: an upper bound within
// about 12%).
func histQuantile(h *metrics.Float64Histogram, q float64) time.Duration {
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	var acc uint64
	for i, c := range h.Counts {
		acc += c
		if c > 0 && float64(acc) >= q*float64(total) {
			hi := h.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = h.Buckets[i]
			}
			return time.Duration(hi * float64(time.Second))
		}
	}
	return 0
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// udpRcvbufErrors is the machine's count of UDP datagrams dropped for a
// full receive buffer (/proc/net/snmp), -1 when unknown.
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	var head []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, k := range head {
			if k == "RcvbufErrors" && i < len(f) {
				n, err := strconv.ParseInt(f[i], 10, 64)
				if err == nil {
					return n
				}
			}
		}
		return -1
	}
	return -1
}
