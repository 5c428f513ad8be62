package script

import (
	"context"
	"time"
)

// ListenOptions are a listen's own end-of-turn settings, from
// s.listen(end_silence=...). They travel in the ctx of Host.Listen, so a
// Host that has no use for them (a chat) ignores them and the Host
// interface stays as it is.
type ListenOptions struct {
	// EndSilence, if set, is the silence that ends this listen's
	// utterance; the early rule of an open listen (a stable hypothesis
	// after a short silence) is off for it, so a script can wait out a
	// caller who pauses (an address, a card number).
	EndSilence time.Duration
}

// Bounds of end_silence, those of PARLEY_VOICE_END_SILENCE.
const (
	minEndSilence = 0.2
	maxEndSilence = 5.0
)

type listenOptionsKey struct{}

// WithListenOptions returns ctx carrying o for a Host's Listen.
func WithListenOptions(ctx context.Context, o ListenOptions) context.Context {
	return context.WithValue(ctx, listenOptionsKey{}, o)
}

// ListenOptionsFrom returns the options of the listen ctx belongs to (the
// zero value: the node's rules).
func ListenOptionsFrom(ctx context.Context) ListenOptions {
	o, _ := ctx.Value(listenOptionsKey{}).(ListenOptions)
	return o
}
