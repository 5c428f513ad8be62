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
		out.Samples[i] = interpAt(src, i, n, from, to)
	}
	return out
}

// interpAt is output sample i of the linear interpolation of src (n
// samples at rate from) to rate to. The position i·from/to is kept as an
// integer fraction so the same input always yields the same output bits.
func interpAt(src []int16, i, n, from, to int64) int16 {
	num := i * from
	idx, frac := num/to, num%to
	a := int64(src[min(idx, n-1)])
	b := int64(src[min(idx+1, n-1)])
	return clamp16(a + (b-a)*frac/to)
}

// lowpass filters s (at rate from) to keep what a signal at rate to can
// carry. The cutoff sits at 85% of the new Nyquist frequency (3.4 kHz for
// 8 kHz: the classic telephone band), and the filter widens with the
// decimation ratio so its transition band stays about as wide in Hz.
// Edges repeat the first and last sample, so a constant signal stays put.
func lowpass(s []int16, from, to int) []int16 {
	taps, half := lowpassTaps(from, to)
	out := make([]int16, len(s))
	last := len(s) - 1
	for i := range s {
		out[i] = lowpassAt(s, taps, half, i, last)
	}
	return out
}

// lowpassTaps are lowpass's filter taps, 2·half+1 of them.
func lowpassTaps(from, to int) ([]float64, int) {
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
	return taps, half
}

// lowpassAt is lowpass's output sample i, the signal ending at s[last]:
// it depends on s up to i+half only, so a stream knows it as soon as
// that sample arrived (or the stream ended).
func lowpassAt(s []int16, taps []float64, half, i, last int) int16 {
	var acc float64
	for k, h := range taps {
		j := min(max(i+k-half, 0), last)
		acc += h * float64(s[j])
	}
	return clamp16(int64(math.Round(acc)))
}
