package audio

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSilenceAndDuration(t *testing.T) {
	for _, c := range []struct {
		rate int
		d    time.Duration
		n    int
	}{
		{8000, time.Second, 8000},
		{8000, time.Millisecond, 8},
		{22050, 10 * time.Millisecond, 220}, // 220.5 truncated
		{8000, MaxRecording, 8000 * 3600},
		{8000, 0, 0},
		{8000, -time.Second, 0},
		{0, time.Second, 0},
	} {
		p := Silence(c.rate, c.d)
		if len(p.Samples) != c.n || p.Rate != c.rate {
			t.Errorf("Silence(%d, %v) has %d samples at %d, want %d", c.rate, c.d, len(p.Samples), p.Rate, c.n)
		}
		for _, v := range p.Samples {
			if v != 0 {
				t.Fatalf("Silence(%d, %v) is not silent", c.rate, c.d)
			}
		}
	}
	for _, c := range []struct {
		p    PCM
		want time.Duration
	}{
		{PCM{Rate: 8000, Samples: make([]int16, 8000)}, time.Second},
		{PCM{Rate: 8000, Samples: make([]int16, 1)}, 125 * time.Microsecond},
		{PCM{Rate: 22050, Samples: make([]int16, 441)}, 20 * time.Millisecond},
		{PCM{Rate: 0, Samples: make([]int16, 10)}, 0},
		{PCM{Rate: 8000}, 0},
	} {
		if got := c.p.Duration(); got != c.want {
			t.Errorf("%d samples at %d: Duration() = %v, want %v", len(c.p.Samples), c.p.Rate, got, c.want)
		}
	}
}

func TestResampleLength(t *testing.T) {
	for _, c := range []struct{ n, from, to, want int }{
		{22050, 22050, 8000, 8000}, // a second stays a second
		{441, 44100, 8000, 80},
		{7, 16000, 8000, 4}, // 3.5 rounds up
		{5, 16000, 8000, 3}, // 2.5 rounds up
		{3, 8000, 16000, 6},
		{1, 8000, 16000, 2},
		{1, 22050, 8000, 0}, // 0.36 of a sample
		{100, 8000, 8000, 100},
		{0, 22050, 8000, 0},
		{10, 0, 8000, 0},
		{10, 8000, 0, 0},
	} {
		got := Resample(PCM{Rate: c.from, Samples: make([]int16, c.n)}, c.to)
		if len(got.Samples) != c.want || got.Rate != c.to {
			t.Errorf("Resample(%d samples, %d→%d) = %d samples at %d, want %d", c.n, c.from, c.to, len(got.Samples), got.Rate, c.want)
		}
	}
}

func TestResampleValues(t *testing.T) {
	up := Resample(PCM{Rate: 8000, Samples: []int16{0, 100}}, 16000)
	if want := []int16{0, 50, 100, 100}; !slices.Equal(up.Samples, want) {
		t.Errorf("8k→16k of [0 100] = %v, want %v", up.Samples, want)
	}

	// A constant must stay constant both ways, edges included: the filter
	// has unity gain at DC and repeats the edge samples.
	for _, c := range [][2]int{{22050, 8000}, {8000, 22050}, {48000, 8000}, {8000, 11025}} {
		p := PCM{Rate: c[0], Samples: make([]int16, 1000)}
		for i := range p.Samples {
			p.Samples[i] = 1234
		}
		for i, v := range Resample(p, c[1]).Samples {
			if v < 1233 || v > 1235 {
				t.Fatalf("%d→%d: constant 1234 became %d at %d", c[0], c[1], v, i)
			}
		}
	}

	same := PCM{Rate: 8000, Samples: []int16{1, 2, 3}}
	r := Resample(same, 8000)
	r.Samples[0] = 9
	if same.Samples[0] != 1 {
		t.Error("Resample at the same rate shares memory with its input")
	}
}

// TestResampleAntiAlias checks what linear interpolation alone gets wrong:
// a 6 kHz tone can't exist at 8 kHz and must vanish, not fold to 2 kHz,
// while a 1 kHz tone passes.
func TestResampleAntiAlias(t *testing.T) {
	for _, c := range []struct {
		hz     float64
		lo, hi float64 // bounds on RMS out / RMS in
	}{
		{1000, 0.95, 1.05},
		{6000, 0, 0.02},
	} {
		in := sine(22050, c.hz, 8000, 22050)
		ratio := rms(Resample(in, 8000).Samples[100:7900]) / rms(in.Samples)
		if ratio < c.lo || ratio > c.hi {
			t.Errorf("%v Hz at 22050→8000: RMS ratio %.3f, want %.2f–%.2f", c.hz, ratio, c.lo, c.hi)
		}
	}
}

func sine(rate int, hz, amp float64, n int) PCM {
	p := PCM{Rate: rate, Samples: make([]int16, n)}
	for i := range p.Samples {
		p.Samples[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return p
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}
