package g711

import (
	"slices"
	"sync"
)

// Law selects one of the two G.711 companding laws.
type Law uint8

const (
	ULaw Law = iota // μ-law, "PCMU", North America and Japan
	ALaw            // A-law, "PCMA", the rest of the world
)

// String is the law's RTP encoding name (RFC 3551): PCMU or PCMA.
func (l Law) String() string {
	if l == ALaw {
		return "PCMA"
	}
	return "PCMU"
}

// PayloadType is the law's static RTP payload type: 0 (PCMU) or 8 (PCMA).
func (l Law) PayloadType() uint8 {
	if l == ALaw {
		return 8
	}
	return 0
}

// Silence is the code of the quietest sample: 0xFF (μ-law 0) or 0xD5
// (A-law +8), the byte a silent or concealed frame is filled with.
func (l Law) Silence() byte {
	if l == ALaw {
		return 0xD5
	}
	return 0xFF
}

// Encode compands one sample (the reference per-sample function).
func (l Law) Encode(s int16) byte {
	if l == ALaw {
		return EncodeALaw(s)
	}
	return EncodeULaw(s)
}

// Decode expands one code (the reference per-sample function).
func (l Law) Decode(c byte) int16 {
	if l == ALaw {
		return DecodeALaw(c)
	}
	return DecodeULaw(c)
}

// AppendEncode appends the codes of pcm to dst and returns the extended
// slice, as append does. A 20 ms frame at 8 kHz is 160 samples in, 160
// bytes out.
func (l Law) AppendEncode(dst []byte, pcm []int16) []byte {
	t := encodeTable(l)
	n := len(dst)
	dst = slices.Grow(dst, len(pcm))[:n+len(pcm)]
	out := dst[n:]
	for i, s := range pcm {
		out[i] = t[uint16(s)]
	}
	return dst
}

// AppendDecode appends the samples of codes to dst and returns the
// extended slice.
func (l Law) AppendDecode(dst []int16, codes []byte) []int16 {
	t := &decULaw
	if l == ALaw {
		t = &decALaw
	}
	n := len(dst)
	dst = slices.Grow(dst, len(codes))[:n+len(codes)]
	out := dst[n:]
	for i, c := range codes {
		out[i] = t[c]
	}
	return dst
}

var decULaw, decALaw = decodeTables()

func decodeTables() (u, a [256]int16) {
	for c := range 256 {
		u[c], a[c] = DecodeULaw(byte(c)), DecodeALaw(byte(c))
	}
	return u, a
}

// The encode tables are indexed by the sample's bits as uint16 and built
// on first use, so programs that never encode don't pay 128 KiB.
var encTables = sync.OnceValue(func() *[2][65536]byte {
	var t [2][65536]byte
	for i := range 65536 {
		s := int16(uint16(i))
		t[ULaw][i], t[ALaw][i] = EncodeULaw(s), EncodeALaw(s)
	}
	return &t
})

func encodeTable(l Law) *[65536]byte {
	if l == ALaw {
		return &encTables()[ALaw]
	}
	return &encTables()[ULaw]
}

// AppendConvert appends codes of law from re-coded in law to (decoded and
// encoded again, through a 256-entry table) and returns the extended
// slice. It is how a PCMA call and a PCMU leg exchange frames without
// decoding them to PCM; from == to copies.
func AppendConvert(dst, codes []byte, from, to Law) []byte {
	if from == to {
		return append(dst, codes...)
	}
	t := &ulawToALaw
	if from == ALaw {
		t = &alawToULaw
	}
	n := len(dst)
	dst = slices.Grow(dst, len(codes))[:n+len(codes)]
	out := dst[n:]
	for i, c := range codes {
		out[i] = t[c]
	}
	return dst
}

var ulawToALaw, alawToULaw = convertTables()

func convertTables() (u2a, a2u [256]byte) {
	for c := range 256 {
		u2a[c], a2u[c] = EncodeALaw(DecodeULaw(byte(c))), EncodeULaw(DecodeALaw(byte(c)))
	}
	return u2a, a2u
}
