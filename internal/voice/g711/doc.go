// Package g711 is ITU-T G.711: the μ-law (PCMU, RTP payload type 0) and
// A-law (PCMA, payload type 8) companding of telephone audio, 8 kHz and one
// byte per sample. Written here because no maintained Go module provides it.
//
// The per-sample functions (EncodeULaw, DecodeULaw, EncodeALaw, DecodeALaw)
// are the reference algorithm of the classic Sun Microsystems g711.c, which
// matches the tables of G.711 itself: encoding finds the segment (exponent)
// of the biased magnitude and keeps four mantissa bits; decoding returns the
// middle of the quantisation interval. They take and return the 16-bit
// linear PCM of package audio (audio.Rate samples a second).
//
// The slice functions (Law.AppendEncode, Law.AppendDecode) are what a call's
// media path runs 50 times a second per direction: decoding uses a 256-entry
// table and encoding a 65,536-entry table per law (64 KiB each, built once
// from the reference functions at first use), so a 20 ms frame is 160 table
// look-ups each way.
//
// μ-law has two zeros: 0xFF (+0) and 0x7F (−0) both decode to 0, and 0
// encodes to 0xFF, so 0x7F is the one code that does not survive a decode
// followed by an encode. A-law has no zero code; the smallest magnitudes are
// ±8 (0xD5 and 0x55), and 0xD5 is what A-law silence is made of.
package g711
