// Package bridge connects two legs of a call so that the parties hear each
// other: the callee's SIP call and an operator's browser (WebRTC), or the
// callee and a second SIP call dialled through the trunk (an external
// transfer). It holds no sockets and no clock; it only says where each
// leg's audio goes, and holds, mutes and ends that routing.
//
// # Legs
//
// A Leg is anything that carries one party's audio as 20 ms frames of
// PCMU (G.711 μ-law, 160 bytes): package sip's *Conn and package webrtc's
// *Peer are legs. A leg gives each frame of its party's voice to the
// function set with OnAudio as soon as it arrives from the network, and
// SendAudio hands it a frame for its party. Legs convert to and from their
// own wire format (a PCMA SIP call re-codes byte by byte; nothing is
// decoded to PCM on the way).
//
// A Line is the callee's leg: a phone line that runs its own 20 ms clock
// (package sip's media loop), so it can play hold audio on its own and
// send DTMF. The bridge keeps no clock of its own: the audio of each leg
// is forwarded on arrival, which is why a bridge adds next to no delay,
// and the Line fits frames from the other leg into its clock's slots
// (see package sip, relay.go).
//
// # What the parties hear
//
// Bridged, each party hears the other. On hold the callee hears the hold
// audio and the operator hears nothing (both directions are cut, as on a
// desk phone's hold key). Muted, the callee hears silence while the
// operator still hears the callee. Unbridged (or when a leg ends) both
// legs are left as they are, for the caller to hang up or to bridge again.
//
// The callee's recording (package sip) is made on the Line: left the
// audio sent to the callee (virtual agent, hold audio, operator), right
// the callee. So the recording holds the operator, and holds the hold
// audio where the callee heard it.
package bridge

import (
	"context"

	"github.com/parley-cc/parley/internal/audio"
)

// FrameBytes is the size of a 20 ms PCMU frame: 160 samples at 8 kHz.
const FrameBytes = 160

// Leg is one party of a bridged call.
type Leg interface {
	// OnAudio sets the function each frame of the party's voice is given
	// to on arrival (nil stops it). The function runs on the leg's
	// receiving goroutine: it must not block and must not keep the slice
	// past its return.
	OnAudio(func(frame []byte))
	// SendAudio sends a frame of PCMU to the party. It never blocks on
	// the network beyond one datagram write, and copies what it keeps.
	SendAudio(frame []byte)
	// Done is closed when the leg has ended (hang-up, closed peer).
	Done() <-chan struct{}
}

// Line is the callee's leg: it keeps its own clock, so it can play hold
// audio and send DTMF.
type Line interface {
	Leg
	// Hold plays loop to the party, over and over, whenever nothing else
	// is sent; a zero loop stops it.
	Hold(loop audio.PCM)
	// SendDTMF sends digits as RFC 4733 events and returns once they are
	// on the wire.
	SendDTMF(ctx context.Context, digits string) error
}
