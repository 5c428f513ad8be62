package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors DecodeWAV and EncodeWAV wrap, for errors.Is. A file that ends
// early wraps io.ErrUnexpectedEOF instead.
var (
	ErrFormat   = errors.New("audio: unsupported WAV")
	ErrTooLarge = errors.New("audio: WAV too large")
)

const (
	// maxRate bounds sample rates read or written; anything above is a
	// corrupt header rather than audio.
	maxRate = 384000
	// maxWAVData bounds the sample bytes DecodeWAV holds: a one-hour 8 kHz
	// stereo recording (115 MB) fits, a hostile header can't demand more.
	maxWAVData = 128 << 20
	// maxFmtChunk bounds the fmt chunk; WAVE_FORMAT_EXTENSIBLE needs 40.
	maxFmtChunk = 1024
)

// EncodeWAV writes a canonical 44-byte-header RIFF/WAVE file of 16-bit PCM
// at rate with one or two channels, interleaved. All channels must be the
// same length; for a call recording, channel 0 is the agent (left) and 1 the
// callee (right).
func EncodeWAV(w io.Writer, channels [][]int16, rate int) error {
	nch := len(channels)
	if nch != 1 && nch != 2 {
		return fmt.Errorf("%w: %d channels, want 1 or 2", ErrFormat, nch)
	}
	if rate <= 0 || rate > maxRate {
		return fmt.Errorf("%w: sample rate %d", ErrFormat, rate)
	}
	frames := len(channels[0])
	for _, c := range channels[1:] {
		if len(c) != frames {
			return fmt.Errorf("audio: channels of %d and %d samples differ in length", frames, len(c))
		}
	}
	blockAlign := 2 * nch
	dataLen := uint64(frames) * uint64(blockAlign)
	if dataLen > 0xFFFFFFFF-36 { // the RIFF size field is 32-bit
		return fmt.Errorf("%w: %d bytes of samples do not fit a RIFF file", ErrTooLarge, dataLen)
	}

	h := make([]byte, 0, 44)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(36+dataLen))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, uint16(nch))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate*blockAlign))
	h = binary.LittleEndian.AppendUint16(h, uint16(blockAlign))
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(dataLen))
	if _, err := w.Write(h); err != nil {
		return err
	}

	// Interleave through a fixed buffer: an hour of audio shouldn't need a
	// second copy in memory just to be written out.
	const batch = 4096
	buf := make([]byte, 0, batch*blockAlign)
	for start := 0; start < frames; start += batch {
		buf = buf[:0]
		for i := start; i < min(start+batch, frames); i++ {
			for _, c := range channels {
				buf = binary.LittleEndian.AppendUint16(buf, uint16(c[i]))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
