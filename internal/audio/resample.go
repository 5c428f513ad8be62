package audio

import (
	"math"
	"slices"
)

// Resample converts p to rate by linear interpolation between neighbouring
// samples. The result holds round(len·rate/p.Rate) samples, so the duration
// is kept to within one sample; it never shares memory with p. If either
// rate is unset, the result is empty.
//
// Linear interpolation alone is a poor decimator: converting espeak-ng's
// 22050 Hz down to 8000 Hz would fold its sibilants (4–11 kHz) back into the
// telephone band as hiss. So when the rate goes down, p is first low-passed
// below the new Nyquist frequency with a short windowed-sinc filter.
// Upsampling needs no filter: interpolation adds nothing above the old band
// worth removing at telephony quality.
func Resample(p PCM, rate int) PCM {
	out := PCM{Rate: rate}
	if rate <= 0 || p.Rate <= 0 || len(p.Samples) == 0 {
		return out
	}
	if rate == p.Rate {
		out.Samples = slices.Clone(p.Samples)
		return out
	}
	src := p.Samples
	if rate < p.Rate {
		src = lowpass(src, p.Rate, rate)
	}
	n, from, to := int64(len(src)), int64(p.Rate), int64(rate)
	m := (n*to + from/2) / from
	out.Samples = make([]int16, m)
	for i := range m {
		// Position i·from/to in input samples, kept as an integer fraction
		// so the same input always yields the same output bits.
		num := i * from
		idx, frac := num/to, num%to
		a := int64(src[min(idx, n-1)])
		b := int64(src[min(idx+1, n-1)])
		out.Samples[i] = clamp16(a + (b-a)*frac/to)
	}
	return out
}

// lowpass filters s (at rate from) to keep what a signal at rate to can
// carry. The cutoff sits at 85% of the new Nyquist frequency (3.4 kHz for
// 8 kHz: the classic telephone band), and the filter widens with the
// decimation ratio so its transition band stays about as wide in Hz.
// Edges repeat the first and last sample, so a constant signal stays put.
func lowpass(s []int16, from, to int) []int16 {
	ratio := float64(from) / float64(to)
	half := 16 * int(math.Ceil(ratio))
	fc := 0.85 * 0.5 / ratio // cycles per input sample
	taps := make([]float64, 2*half+1)
	var sum float64
	for k := -half; k <= half; k++ {
		x := float64(k)
		h := 2 * fc
		if k != 0 {
			h = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		h *= 0.5 + 0.5*math.Cos(math.Pi*x/float64(half+1)) // Hann window
		taps[k+half] = h
		sum += h
	}
	for i := range taps {
		taps[i] /= sum // unity gain at DC
	}
	out := make([]int16, len(s))
	last := len(s) - 1
	for i := range s {
		var acc float64
		for k, h := range taps {
			j := min(max(i+k-half, 0), last)
			acc += h * float64(s[j])
		}
		out[i] = clamp16(int64(math.Round(acc)))
	}
	return out
}
