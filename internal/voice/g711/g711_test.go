package g711

import (
	"math"
	"testing"
)

// Vectors worked out by hand from G.711's tables (as coded in Sun's g711.c):
// μ-law reconstructs at ((mantissa<<3)+132)<<segment − 132, A-law at
// ((mantissa<<4)+8 [+256 from segment 1]) << (segment−1).
func TestKnownVectors(t *testing.T) {
	decode := []struct {
		law  Law
		code byte
		want int16
	}{
		{ULaw, 0xFF, 0}, {ULaw, 0x7F, 0}, // +0 and −0
		{ULaw, 0xFE, 8}, {ULaw, 0x7E, -8},
		{ULaw, 0xF0, 120}, {ULaw, 0xEF, 132}, // end of segment 0, start of 1
		{ULaw, 0xDF, 396}, // segment 2, mantissa 0: 132<<2 − 132
		{ULaw, 0x81, 31100}, {ULaw, 0x80, 32124}, {ULaw, 0x00, -32124},
		{ALaw, 0xD5, 8}, {ALaw, 0x55, -8},
		{ALaw, 0xD4, 24}, {ALaw, 0x54, -24},
		{ALaw, 0xDA, 248},  // segment 0, mantissa 15
		{ALaw, 0xC5, 264},  // segment 1, mantissa 0
		{ALaw, 0xE5, 1056}, // segment 3, mantissa 0: 264<<2
		{ALaw, 0xAA, 32256}, {ALaw, 0x2A, -32256},
	}
	for _, c := range decode {
		if got := c.law.Decode(c.code); got != c.want {
			t.Errorf("%v decode %#02x = %d, want %d", c.law, c.code, got, c.want)
		}
	}
	encode := []struct {
		law  Law
		in   int16
		want byte
	}{
		{ULaw, 0, 0xFF}, {ULaw, -1, 0x7F}, {ULaw, 3, 0xFF}, {ULaw, 4, 0xFE},
		{ULaw, 8, 0xFE}, {ULaw, -8, 0x7E}, {ULaw, 132, 0xEF},
		{ULaw, 32124, 0x80}, {ULaw, 32767, 0x80}, {ULaw, -32768, 0x00},
		{ALaw, 0, 0xD5}, {ALaw, 15, 0xD5}, {ALaw, 16, 0xD4},
		{ALaw, -1, 0x55}, {ALaw, -16, 0x55}, {ALaw, -17, 0x54},
		{ALaw, 264, 0xC5}, {ALaw, 32767, 0xAA}, {ALaw, -32768, 0x2A},
	}
	for _, c := range encode {
		if got := c.law.Encode(c.in); got != c.want {
			t.Errorf("%v encode %d = %#02x, want %#02x", c.law, c.in, got, c.want)
		}
	}
}

func TestRoundTripAllCodes(t *testing.T) {
	for _, law := range []Law{ULaw, ALaw} {
		for c := range 256 {
			want := byte(c)
			if law == ULaw && want == 0x7F {
				want = 0xFF // −0 comes back as +0
			}
			if got := law.Encode(law.Decode(byte(c))); got != want {
				t.Errorf("%v: encode(decode(%#02x)) = %#02x", law, c, got)
			}
		}
	}
}

// Every input lies in the decision interval of its code: the decoded value
// (the interval's middle) is within half a step of it, the step doubling
// with each segment. Only μ-law's clipped top (above 32635) is further.
// The nearest reconstruction is not always chosen: at a segment boundary
// the intervals differ in width, so the decision level is not halfway.
func TestEncodeIntervalAndMonotonic(t *testing.T) {
	for _, law := range []Law{ULaw, ALaw} {
		prev := law.Decode(law.Encode(math.MinInt16))
		for i := math.MinInt16; i <= math.MaxInt16; i++ {
			s := int16(i)
			c := law.Encode(s)
			got := law.Decode(c)
			if got < prev {
				t.Fatalf("%v: not monotonic at %d: %d after %d", law, s, got, prev)
			}
			prev = got
			if law == ULaw && abs(i) > 32635 {
				continue
			}
			if e := abs(int(got) - i); e > halfStep(law, c) {
				t.Fatalf("%v: %d -> %#02x -> %d, error %d > %d", law, s, c, got, e, halfStep(law, c))
			}
		}
	}
}

func halfStep(law Law, c byte) int {
	if law == ULaw {
		return 4 << ((^c & 0x70) >> 4)
	}
	seg := ((c ^ 0x55) & 0x70) >> 4
	return 8 << max(int(seg)-1, 0)
}

func TestDecodeTableMonotonic(t *testing.T) {
	// Positive codes: μ-law 0x80..0xFF descend in magnitude toward 0xFF;
	// A-law is ordered by (code ^ 0x55) & 0x7F.
	for c := 0x80; c < 0xFF; c++ {
		if DecodeULaw(byte(c)) <= DecodeULaw(byte(c+1)) {
			t.Errorf("μ-law %#02x <= %#02x", c, c+1)
		}
	}
	for m := range 127 {
		a, b := DecodeALaw(byte(m)^0xD5), DecodeALaw(byte(m+1)^0xD5)
		if a >= b || -a != DecodeALaw(byte(m)^0x55) {
			t.Errorf("A-law magnitude %d: %d, %d", m, a, b)
		}
	}
}

func TestTablesMatchReference(t *testing.T) {
	all := make([]int16, 65536)
	for i := range all {
		all[i] = int16(uint16(i))
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, law := range []Law{ULaw, ALaw} {
		enc := law.AppendEncode([]byte{1, 2}, all)
		if len(enc) != 2+len(all) || enc[0] != 1 || enc[1] != 2 {
			t.Fatalf("%v: AppendEncode lost the prefix", law)
		}
		for i, s := range all {
			if enc[2+i] != law.Encode(s) {
				t.Fatalf("%v: table encodes %d as %#02x, reference %#02x", law, s, enc[2+i], law.Encode(s))
			}
		}
		dec := law.AppendDecode(nil, codes)
		for c, s := range dec {
			if s != law.Decode(byte(c)) {
				t.Fatalf("%v: table decodes %#02x as %d", law, c, s)
			}
		}
	}
}

func TestLawNames(t *testing.T) {
	if ULaw.String() != "PCMU" || ULaw.PayloadType() != 0 || DecodeULaw(ULaw.Silence()) != 0 {
		t.Error("μ-law identity")
	}
	if ALaw.String() != "PCMA" || ALaw.PayloadType() != 8 || DecodeALaw(ALaw.Silence()) != 8 {
		t.Error("A-law identity")
	}
}

// G.711 gives a roughly constant SNR of 35–39 dB over about 30 dB of
// input level; a 1 kHz tone at a few levels must stay in that band.
func TestSineSNR(t *testing.T) {
	for _, law := range []Law{ULaw, ALaw} {
		for _, dBFS := range []float64{-3, -10, -20, -30} {
			amp := 32767 * math.Pow(10, dBFS/20)
			pcm := make([]int16, 8000)
			for i := range pcm {
				pcm[i] = int16(math.Round(amp * math.Sin(2*math.Pi*1013*float64(i)/8000)))
			}
			out := law.AppendDecode(nil, law.AppendEncode(nil, pcm))
			var sig, noise float64
			for i := range pcm {
				sig += float64(pcm[i]) * float64(pcm[i])
				e := float64(out[i]) - float64(pcm[i])
				noise += e * e
			}
			snr := 10 * math.Log10(sig/noise)
			t.Logf("%v %4.0f dBFS: SNR %.1f dB", law, dBFS, snr)
			if snr < 33 || snr > 40 {
				t.Errorf("%v at %v dBFS: SNR %.1f dB outside 33..40", law, dBFS, snr)
			}
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 0xFF, 0x7F, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		for _, law := range []Law{ULaw, ALaw} {
			codes := law.AppendEncode(nil, pcm)
			dec := law.AppendDecode(nil, codes)
			again := law.AppendEncode(nil, dec)
			for i, s := range pcm {
				if codes[i] != law.Encode(s) || dec[i] != law.Decode(codes[i]) {
					t.Fatalf("%v: slice and per-sample functions differ at %d", law, s)
				}
				// Decoding then encoding is idempotent (bar μ-law's −0).
				if again[i] != codes[i] && !(law == ULaw && codes[i] == 0x7F && again[i] == 0xFF) {
					t.Fatalf("%v: %d -> %#02x -> %d -> %#02x", law, s, codes[i], dec[i], again[i])
				}
				// The error is at most half the widest step (512), or
				// μ-law's clipping at the top (32767 -> 32124).
				if e := abs(int(dec[i]) - int(s)); e > 644 {
					t.Fatalf("%v: %d -> %d, error %d", law, s, dec[i], e)
				}
			}
		}
	})
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func BenchmarkFrame(b *testing.B) {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	for _, law := range []Law{ULaw, ALaw} {
		codes := law.AppendEncode(nil, pcm)
		enc, dec := make([]byte, 0, 160), make([]int16, 0, 160)
		b.Run(law.String()+"/encode", func(b *testing.B) {
			for b.Loop() {
				enc = law.AppendEncode(enc[:0], pcm)
			}
		})
		b.Run(law.String()+"/decode", func(b *testing.B) {
			for b.Loop() {
				dec = law.AppendDecode(dec[:0], codes)
			}
		})
		b.Run(law.String()+"/encode-reference", func(b *testing.B) {
			for b.Loop() {
				for i, s := range pcm {
					enc[i%cap(enc)] = law.Encode(s)
				}
			}
		})
	}
}

// TestAppendConvert: converting a code from one law to the other gives
// the other law's code of the same sample, and a round trip through the
// finer law (μ-law near zero) returns the A-law code.
func TestAppendConvert(t *testing.T) {
	for c := range 256 {
		u := byte(c)
		if got, want := AppendConvert(nil, []byte{u}, ULaw, ALaw)[0], EncodeALaw(DecodeULaw(u)); got != want {
			t.Fatalf("μ %#x -> A %#x, want %#x", u, got, want)
		}
		a := byte(c)
		if got, want := AppendConvert(nil, []byte{a}, ALaw, ULaw)[0], EncodeULaw(DecodeALaw(a)); got != want {
			t.Fatalf("A %#x -> μ %#x, want %#x", a, got, want)
		}
	}
	src := []byte{1, 2, 3}
	if got := AppendConvert([]byte{9}, src, ULaw, ULaw); string(got) != "\x09\x01\x02\x03" {
		t.Errorf("same law: %v", got)
	}
}
