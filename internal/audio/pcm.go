package audio

import "time"

// Rate is the internal sample rate: narrowband telephony, what G.711 carries.
const Rate = 8000

// PCM is mono signed 16-bit audio, Rate samples a second (normally the
// package's Rate; other rates come from outside and get resampled).
type PCM struct {
	Rate    int
	Samples []int16
}

// Silence returns d of silence at rate, truncated to whole samples.
func Silence(rate int, d time.Duration) PCM {
	return PCM{Rate: rate, Samples: make([]int16, samplesIn(rate, d))}
}

// Duration is the playing time of p, zero if its rate is unset.
func (p PCM) Duration() time.Duration { return durationOf(p.Rate, len(p.Samples)) }

// durationOf is the playing time of n samples at rate, truncated to the
// nanosecond.
func durationOf(rate, n int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}

// samplesIn is how many whole samples at rate fit in d. It splits d into
// seconds and the rest so long durations at high rates don't overflow int64.
func samplesIn(rate int, d time.Duration) int {
	if rate <= 0 || d <= 0 {
		return 0
	}
	r := int64(rate)
	return int(int64(d/time.Second)*r + int64(d%time.Second)*r/int64(time.Second))
}

// clamp16 saturates instead of wrapping: a mix that overflows should clip,
// not flip sign into a loud click.
func clamp16(v int64) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}
