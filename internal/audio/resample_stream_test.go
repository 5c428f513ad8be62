package audio

import (
	"math/rand"
	"slices"
	"testing"
)

// TestResamplerMatchesResample: however the input is cut into pieces,
// the streamed output is bit for bit Resample's of the whole.
func TestResamplerMatchesResample(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, rates := range [][2]int{{22050, 8000}, {16000, 8000}, {44100, 8000}, {8000, 16000}, {8000, 8000}, {11025, 8000}} {
		for _, n := range []int{0, 1, 2, 5, 40, 1000, 22050} {
			in := make([]int16, n)
			for i := range in {
				in[i] = int16(r.Intn(60000) - 30000)
			}
			want := Resample(PCM{Rate: rates[0], Samples: in}, rates[1]).Samples
			for _, piece := range []int{1, 7, 160, 4096, n + 1} {
				rs := NewResampler(rates[0], rates[1])
				var got []int16
				for i := 0; i < n; i += piece {
					got = append(got, rs.Write(in[i:min(i+piece, n)])...)
				}
				early := len(got)
				got = append(got, rs.Flush()...)
				if n >= 1000 && piece < n && early < len(want)/2 {
					t.Errorf("%d→%d Hz, %d samples in pieces of %d: only %d of %d out before the end", rates[0], rates[1], n, piece, early, len(want))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%d→%d Hz, %d samples in pieces of %d: %d samples out, want %d (equal: %v)", rates[0], rates[1], n, piece, len(got), len(want), slices.Equal(got, want))
				}
			}
		}
	}
}
