package g711

// μ-law: magnitudes are biased by 0x84 (132) so that the segment boundaries
// fall on powers of two; 0x7FFF-0x84 = 32635 is the largest magnitude coded.
const (
	uBias = 0x84
	uClip = 0x7FFF
)

// EncodeULaw compands one linear sample to its μ-law code.
func EncodeULaw(s int16) byte {
	v, mask := int(s), 0xFF
	if v < 0 {
		v, mask = -v, 0x7F
	}
	v += uBias
	if v > uClip {
		v = uClip
	}
	seg := segment(v)
	return byte((seg<<4 | (v>>(seg+3))&0x0F) ^ mask)
}

// DecodeULaw expands one μ-law code to a linear sample in [-32124, 32124].
func DecodeULaw(c byte) int16 {
	c = ^c
	t := (int(c&0x0F)<<3 + uBias) << ((c & 0x70) >> 4)
	if c&0x80 != 0 {
		return int16(uBias - t)
	}
	return int16(t - uBias)
}

// EncodeALaw compands one linear sample to its A-law code (even bits
// inverted, as transmitted).
func EncodeALaw(s int16) byte {
	v, mask := int(s), 0xD5
	if v < 0 {
		// One's complement: -1..-8 share the code of 0..7 mirrored, so the
		// two halves of the range are symmetric around -0.5.
		v, mask = int(^s), 0x55
	}
	seg := segment(v)
	var q int
	if seg < 2 {
		q = v >> 4 & 0x0F
	} else {
		q = v >> (seg + 3) & 0x0F
	}
	return byte((seg<<4 | q) ^ mask)
}

// DecodeALaw expands one A-law code to a linear sample in [-32256, 32256].
func DecodeALaw(c byte) int16 {
	c ^= 0x55
	t := int(c&0x0F)<<4 + 8
	switch seg := (c & 0x70) >> 4; seg {
	case 0:
	case 1:
		t += 0x100
	default:
		t = (t + 0x100) << (seg - 1)
	}
	if c&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// segment is the G.711 segment of a magnitude v in [0, 0x7FFF]: 0 up to
// 0xFF, then one more per doubling, 7 for 0x4000 and above.
func segment(v int) int {
	seg := 0
	for v > 0xFF {
		v >>= 1
		seg++
	}
	return seg
}
