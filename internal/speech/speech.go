package speech

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parley-cc/parley/internal/audio"
)

// Synthesizer turns text into speech at audio.Rate (8 kHz mono), the
// voice named by its implementation ("" picks a default). It is
// audio.Synthesizer, so espeak-ng (audio.Espeak) and the tone stand-in
// plug in unchanged.
type Synthesizer = audio.Synthesizer

// Recognizer turns an utterance into text.
//
// pcm is mono telephone audio, normally at audio.Rate (8 kHz); another rate
// is resampled. expect, when not empty, lists the phrases the script
// expects ("yes", "no", "call me later"): a recognizer uses them as a
// grammar or as hints, but may still return something else.
//
// Hearing nothing (silence, noise, nothing intelligible) is not an error:
// the Result then has an empty Text. Errors are for failures: a missing
// engine, bad credentials, an unreachable service, a cancelled ctx.
type Recognizer interface {
	Recognize(ctx context.Context, pcm audio.PCM, expect []string) (Result, error)
}

// Result is what a recognizer heard.
type Result struct {
	// Text is the best transcript; "" when nothing was recognised.
	Text string
	// Confidence of Text from 0 to 1 as the engine reports it. 0 means the
	// engine gave none (Google's own sentinel; Yandex v1 and pocketsphinx
	// never give one), not "certainly wrong".
	Confidence float64
	// Alternatives are the engine's less likely transcripts, best first,
	// when it reports any.
	Alternatives []Alternative
}

// Alternative is one less likely transcript.
type Alternative struct {
	Text       string
	Confidence float64 // 0 when not reported
}

// Errors every adapter wraps, for errors.Is. A provider's HTTP answer is an
// *APIError whose Unwrap gives one of the first four.
var (
	// ErrAuth: the key was refused (missing, invalid, revoked, no access to
	// the API). Retrying won't help; the agent's credentials must change.
	ErrAuth = errors.New("speech: authentication failed")
	// ErrBadRequest: the provider refused this request (bad voice or
	// language, audio too long, text too long). Retrying the same request
	// won't help.
	ErrBadRequest = errors.New("speech: request refused")
	// ErrRetryable: quota exhausted, rate limited, provider outage or a
	// network failure. The same request may succeed later.
	ErrRetryable = errors.New("speech: temporary failure")
	// ErrBadResponse: the provider answered something this package can't
	// use (not the documented shape, or larger than allowed).
	ErrBadResponse = errors.New("speech: unusable response")
	// ErrUnavailable: a local engine (pocketsphinx, its model) is not
	// installed or not runnable.
	ErrUnavailable = errors.New("speech: engine not available")
	// ErrNotConfigured: the agent's settings don't name a usable engine
	// (unknown platform, no key for the platform).
	ErrNotConfigured = errors.New("speech: not configured")
)

// Retryable tells whether err is worth retrying later: a temporary
// provider or network failure. A cancelled or expired ctx is not.
func Retryable(err error) bool { return errors.Is(err, ErrRetryable) }

// APIError is a provider's refusal, decoded from its documented error body.
// It never holds the key: the message is the provider's, with the key
// blanked out should a provider echo it.
type APIError struct {
	Provider string // "google-tts", "google-stt", "yandex-tts", "yandex-stt"
	Status   int    // HTTP status
	Code     string // the provider's code: Google's status ("INVALID_ARGUMENT"), Yandex's error_code
	Message  string // the provider's message, clipped
	Kind     error  // ErrAuth, ErrBadRequest, ErrRetryable or ErrBadResponse
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "speech: %s: HTTP %d", e.Provider, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	fmt.Fprintf(&b, " (%s)", strings.TrimPrefix(e.Kind.Error(), "speech: "))
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Kind }

// kindOfStatus classifies an HTTP status the way both providers document
// them: 401/403 are key problems, 408/429/5xx are worth a retry, any other
// 4xx is a request problem.
func kindOfStatus(status int) error {
	switch {
	case status == 401 || status == 403:
		return ErrAuth
	case status == 408 || status == 429 || status >= 500:
		return ErrRetryable
	case status >= 400:
		return ErrBadRequest
	default:
		return ErrBadResponse
	}
}

// checkText refuses text no synthesizer should take, with the same limits
// as audio's synthesizers: at most audio.MaxText characters, valid UTF-8,
// no NUL.
func checkText(text string) error {
	if n := utf8.RuneCountInString(text); n > audio.MaxText {
		return fmt.Errorf("%w: text is %d characters, at most %d", ErrBadRequest, n, audio.MaxText)
	}
	if !utf8.ValidString(text) {
		return fmt.Errorf("%w: text is not valid UTF-8", ErrBadRequest)
	}
	if strings.ContainsRune(text, 0) {
		return fmt.Errorf("%w: text contains a NUL character", ErrBadRequest)
	}
	return nil
}

// toRate returns pcm at rate, refusing audio of no rate and audio longer
// than max.
func toRate(pcm audio.PCM, rate int, max int) (audio.PCM, error) {
	if pcm.Rate <= 0 {
		return audio.PCM{}, fmt.Errorf("%w: audio has no sample rate", ErrBadRequest)
	}
	if d := pcm.Duration(); max > 0 && d.Seconds() > float64(max) {
		return audio.PCM{}, fmt.Errorf("%w: audio is %.1f s long, at most %d s", ErrBadRequest, d.Seconds(), max)
	}
	if pcm.Rate == rate {
		return pcm, nil
	}
	return audio.Resample(pcm, rate), nil
}

// clip shortens a provider's message for an error: one line, at most 300
// characters, with secret blanked out.
func clip(msg, secret string) string {
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) > 300 {
		r := []rune(msg)
		msg = string(r[:300]) + "…"
	}
	return msg
}
