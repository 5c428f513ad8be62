package audio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/parley-cc/parley"
)

// Espeak synthesizes speech with the espeak-ng program (Debian package
// espeak-ng). It runs it once per call: start-up costs a few tens of
// milliseconds, negligible next to a call.
type Espeak struct {
	Path string // the espeak-ng binary
}

// LookupEspeak finds espeak-ng on PATH. It doesn't run it: a broken
// install shows up as an error from Synthesize.
func LookupEspeak() (*Espeak, bool) {
	p, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, false
	}
	return &Espeak{Path: p}, true
}

// espeakVoice admits espeak-ng voice names ("en", "en-us", "en+f3",
// "mb-en1", "gmw/en-US") but no dots, so never a path out of its data
// directory, and no leading dash.
var espeakVoice = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_+/-]{0,63}$`)

const (
	maxEspeakOutput = 64 << 20 // far above MaxText of speech at 22050 Hz
	maxEspeakStderr = 4 << 10
)

// Synthesize runs espeak-ng --stdout -v voice -- text and returns its
// speech at Rate. The text is one argument after "--", never seen by a
// shell or parsed as an option. Blank text gives empty audio without
// running anything.
func (e *Espeak) Synthesize(ctx context.Context, text, voice string) (PCM, error) {
	cmd, err := e.command(ctx, text, voice)
	if err != nil {
		return PCM{}, err
	}
	if cmd == nil {
		return PCM{Rate: Rate}, nil // blank text
	}
	stdout := &cappedBuffer{max: maxEspeakOutput}
	stderr := &cappedBuffer{max: maxEspeakStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return PCM{}, ctx.Err()
		}
		if stdout.full {
			// The child then dies of a broken pipe; that is the symptom.
			return PCM{}, fmt.Errorf("audio: espeak-ng printed more than %d bytes", maxEspeakOutput)
		}
		return PCM{}, fmt.Errorf("audio: espeak-ng: %w: %s", err, strings.TrimSpace(stderr.buf.String()))
	}
	rate, channels, err := DecodeWAV(bytes.NewReader(stdout.buf.Bytes()))
	if err != nil {
		return PCM{}, fmt.Errorf("audio: espeak-ng printed no usable WAV: %w", err)
	}
	return Resample(PCM{Rate: rate, Samples: downmix(channels)}, Rate), nil
}

// SynthesizeStream implements StreamSynthesizer: espeak-ng prints its WAV
// to a pipe as it synthesizes, and each piece of audio goes to emit as
// soon as it is read (and resampled), so a call hears the start of a
// clause before espeak-ng has finished it.
func (e *Espeak) SynthesizeStream(ctx context.Context, text, voice string, emit func([]int16)) (PCM, error) {
	cmd, err := e.command(ctx, text, voice)
	if err != nil {
		return PCM{}, err
	}
	if cmd == nil {
		return PCM{Rate: Rate}, nil // blank text
	}
	stderr := &cappedBuffer{max: maxEspeakStderr, truncate: true}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return PCM{}, err
	}
	if err := cmd.Start(); err != nil {
		return PCM{}, fmt.Errorf("audio: espeak-ng: %w", err)
	}
	lim := &io.LimitedReader{R: out, N: maxEspeakOutput + 1}
	pcm, readErr := decodeWAVStream(lim, Rate, emit)
	if readErr != nil || lim.N <= 0 {
		_ = cmd.Process.Kill() // don't wait for a child whose output is refused
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return PCM{}, ctx.Err()
	case lim.N <= 0:
		return PCM{}, fmt.Errorf("audio: espeak-ng printed more than %d bytes", maxEspeakOutput)
	case waitErr != nil && (readErr == nil || errors.Is(readErr, io.ErrUnexpectedEOF)):
		// It failed, and its output ended early for that reason.
		return PCM{}, fmt.Errorf("audio: espeak-ng: %w: %s", waitErr, strings.TrimSpace(stderr.buf.String()))
	case readErr != nil:
		return PCM{}, fmt.Errorf("audio: espeak-ng printed no usable WAV: %w", readErr)
	}
	return pcm, nil
}

// command checks text and voice and returns the espeak-ng command; nil
// with a nil error for blank text (nothing to run).
func (e *Espeak) command(ctx context.Context, text, voice string) (*exec.Cmd, error) {
	if err := checkText(text); err != nil {
		return nil, err
	}
	if voice == "" {
		voice = "en"
	}
	if !espeakVoice.MatchString(voice) {
		return nil, parley.FieldError("voice", "is not an espeak-ng voice name")
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	cmd := exec.CommandContext(ctx, e.Path, "--stdout", "-v", voice, "--", text)
	cmd.WaitDelay = time.Second // don't hang on pipes a killed child left open
	return cmd, nil
}

// downmix averages channels into one. espeak-ng prints mono, but the
// output format is its choice, not ours.
func downmix(channels [][]int16) []int16 {
	if len(channels) == 1 {
		return channels[0]
	}
	out := make([]int16, len(channels[0]))
	for i := range out {
		var sum int64
		for _, c := range channels {
			sum += int64(c[i])
		}
		out[i] = int16(sum / int64(len(channels)))
	}
	return out
}

// cappedBuffer collects a child's output up to max bytes. Past it, it
// either fails the write, so Run reports the runaway, or (truncate) keeps
// the beginning and discards the rest, enough for an error message. The
// bytes.Buffer is a field, not embedded: its ReadFrom would be promoted,
// and io.Copy would use it to fill memory without ever calling Write.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	truncate bool
	full     bool // something was refused or discarded
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if len(p) <= room {
		return b.buf.Write(p)
	}
	b.full = true
	if !b.truncate {
		return 0, errors.New("output too large")
	}
	b.buf.Write(p[:max(room, 0)])
	return len(p), nil
}
