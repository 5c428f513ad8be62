package audio

import "slices"

// Resampler is Resample over audio that arrives in pieces (a synthesizer
// printing as it goes): Write returns the output samples that no later
// input can change, Flush the rest once the input ended. The pieces put
// together are bit for bit Resample of the whole input, so a streamed
// prompt sounds (and caches) exactly as a synthesized-whole one.
type Resampler struct {
	from, to int64
	taps     []float64 // downsampling's low-pass; nil otherwise
	half     int
	in       []int16 // the input so far
	src      []int16 // the filtered input, as far as it is final
	next     int64   // the next output sample
}

// NewResampler converts from rate from to rate to.
func NewResampler(from, to int) *Resampler {
	r := &Resampler{from: int64(from), to: int64(to)}
	if to < from {
		r.taps, r.half = lowpassTaps(from, to)
	}
	return r
}

// Write adds input and returns the output it made final.
func (r *Resampler) Write(x []int16) []int16 {
	if r.from <= 0 || r.to <= 0 {
		return nil
	}
	if r.from == r.to {
		return slices.Clone(x)
	}
	r.in = append(r.in, x...)
	r.filter(len(r.in) - 1 - r.half) // the filtered samples whose window is all in
	return r.emit(false)
}

// Flush ends the input and returns the last output.
func (r *Resampler) Flush() []int16 {
	if r.from <= 0 || r.to <= 0 || r.from == r.to || len(r.in) == 0 {
		return nil
	}
	r.filter(len(r.in) - 1)
	return r.emit(true)
}

// filter extends src through input sample upto.
func (r *Resampler) filter(upto int) {
	if r.taps == nil {
		r.src = r.in
		return
	}
	last := len(r.in) - 1
	for i := len(r.src); i <= upto; i++ {
		r.src = append(r.src, lowpassAt(r.in, r.taps, r.half, i, last))
	}
}

// emit returns the output samples src settles: before the end, those
// whose two neighbours are in src and are not the last input sample
// (which Resample repeats past the end); at the end, all of them.
func (r *Resampler) emit(end bool) []int16 {
	var out []int16
	n := int64(len(r.src))
	m := (int64(len(r.in))*r.to + r.from/2) / r.from
	for ; ; r.next++ {
		i := r.next
		if end {
			if i >= m {
				break
			}
		} else if idx := i * r.from / r.to; idx+1 >= n || idx+1 >= int64(len(r.in))-1 {
			break
		}
		out = append(out, interpAt(r.src, i, max(n, 1), r.from, r.to))
	}
	return out
}
