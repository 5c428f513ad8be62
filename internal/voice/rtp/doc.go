// Package rtp carries a call's G.711 audio and its DTMF digits over RTP
// (RFC 3550, RFC 3551, RFC 4733), on top of github.com/pion/rtp's packet
// type and parser. It holds no sockets: the SIP layer owns the UDP
// connection and the 20 ms clock, and moves packets through these types.
//
// Sending: a Packetizer numbers one outgoing stream. Every packet, audio or
// telephone-event, is one 20 ms tick of the stream (RFC 3551's default
// ptime for G.711, 160 samples at 8 kHz): sequence numbers, timestamp and
// SSRC start at random values (RFC 3550 §5.1, so a restarted call can't be
// confused with the old one) and the marker bit flags the first packet of
// each talkspurt. DTMF events replace the audio frames of their ticks and
// share the stream's sequence numbers and SSRC, as RFC 4733 §2.1 requires.
//
// Receiving: a JitterBuffer absorbs network jitter and reordering and hands
// out one frame per tick. It orders packets by sequence number (extended
// across the 16-bit wrap) and plays them by timestamp, so the holes that
// DTMF packets or silence suppression leave in the audio are played as
// silence instead of counted as loss. Its delay starts at 60 ms: three
// frames, enough for the jitter of an ordinary SIP trunk, and below the
// 150 ms one-way delay past which conversation suffers (ITU-T G.114). Each
// packet that arrives too late grows the delay by one frame, up to 200 ms;
// ten seconds without one shrink it by a frame, down to the minimum.
// A missing frame is concealed by repeating the previous frame once (that
// hides a single loss in voiced speech) and by silence after that, because
// a frame repeated longer turns into an audible buzz; G.711 Appendix I PLC
// would do better and can replace this later.
//
// DTMF: EventPackets builds the RFC 4733 packets of one digit, a
// DTMFDecoder turns received ones back into digits, each exactly once even
// though the end of an event is sent three times and any packet may be
// lost or reordered.
package rtp
