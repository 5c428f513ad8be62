package audio

import (
	"encoding/binary"
	"fmt"
	"io"
)

// streamingSize is the smallest data-chunk size taken to mean "unknown,
// read to the end". Writers that stream to a pipe can't seek back to patch
// the header: espeak-ng --stdout writes 0x7ffff000, others 0xffffffff.
const streamingSize = 0x7fff0000

// DecodeWAV reads a RIFF/WAVE file of 8-bit unsigned or 16-bit signed PCM,
// mono or stereo, and returns its rate and one sample slice per channel,
// 8-bit samples scaled to 16-bit. It walks the chunks, skipping any it
// doesn't need (LIST, fact, cue…) with their odd-size padding, and stops
// at the data chunk. WAVE_FORMAT_EXTENSIBLE is accepted when its subformat
// is PCM.
//
// Other encodings (float, A-law, µ-law, ADPCM) are refused with ErrFormat.
// Sample data over 128 MiB is refused with ErrTooLarge before it is read,
// and memory grows only with the bytes actually present, so a lying header
// costs nothing. A data size of 0x7fff0000 or more is a streaming writer's
// placeholder: the samples then run to the end of r.
func DecodeWAV(r io.Reader) (rate int, channels [][]int16, err error) {
	f, size, err := readWAVHeader(r)
	if err != nil {
		return 0, nil, err
	}
	channels, err = readData(r, f, size)
	if err != nil {
		return 0, nil, err
	}
	return f.rate, channels, nil
}

// readWAVHeader reads r up to the start of its samples and returns their
// format and the data chunk's size.
func readWAVHeader(r io.Reader) (*wavFormat, uint32, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, truncated("RIFF header", err)
	}
	switch {
	case string(hdr[:4]) == "RIFX" || string(hdr[:4]) == "RF64":
		return nil, 0, fmt.Errorf("%w: %s files are not supported", ErrFormat, hdr[:4])
	case string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WAVE":
		return nil, 0, fmt.Errorf("%w: not a RIFF/WAVE file", ErrFormat)
	}
	var f *wavFormat
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err == io.EOF {
			return nil, 0, fmt.Errorf("audio: WAV ends before its data chunk: %w", io.ErrUnexpectedEOF)
		} else if err != nil {
			return nil, 0, truncated("a chunk header", err)
		}
		id, size := string(ch[:4]), binary.LittleEndian.Uint32(ch[4:])
		switch id {
		case "fmt ":
			if f != nil {
				return nil, 0, fmt.Errorf("%w: two fmt chunks", ErrFormat)
			}
			if size < 16 || size > maxFmtChunk {
				return nil, 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrFormat, size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, 0, truncated("fmt chunk", err)
			}
			var err error
			if f, err = parseFmt(buf[:size]); err != nil {
				return nil, 0, err
			}
		case "data":
			if f == nil {
				return nil, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrFormat)
			}
			return f, size, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return nil, 0, truncated(fmt.Sprintf("%q chunk", id), err)
			}
		}
	}
}

type wavFormat struct {
	channels, rate, bits, blockAlign int
}

// ksdataformatPCM is the tail shared by the KSDATAFORMAT_SUBTYPE GUIDs; the
// first two bytes of the subformat then hold the plain format tag.
const ksdataformatPCM = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

var formatNames = map[uint16]string{3: "IEEE float", 6: "A-law", 7: "µ-law", 2: "MS ADPCM", 0x11: "IMA ADPCM", 0x55: "MP3"}

func parseFmt(b []byte) (*wavFormat, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	if tag == 0xFFFE {
		if len(b) < 40 || string(b[26:40]) != ksdataformatPCM {
			return nil, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE without a known subformat", ErrFormat)
		}
		tag = le.Uint16(b[24:])
	}
	if tag != 1 {
		name := formatNames[tag]
		if name == "" {
			name = "unknown"
		}
		return nil, fmt.Errorf("%w: format tag %#x (%s), only PCM is supported", ErrFormat, tag, name)
	}
	f := &wavFormat{
		channels:   int(le.Uint16(b[2:])),
		rate:       int(le.Uint32(b[4:])),
		blockAlign: int(le.Uint16(b[12:])),
		bits:       int(le.Uint16(b[14:])),
	}
	switch {
	case f.channels != 1 && f.channels != 2:
		return nil, fmt.Errorf("%w: %d channels, only mono or stereo", ErrFormat, f.channels)
	case f.bits != 8 && f.bits != 16:
		return nil, fmt.Errorf("%w: %d-bit samples, only 8 or 16", ErrFormat, f.bits)
	case f.rate <= 0 || f.rate > maxRate:
		return nil, fmt.Errorf("%w: sample rate %d", ErrFormat, f.rate)
	case f.blockAlign != f.channels*f.bits/8:
		return nil, fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrFormat, f.blockAlign, f.channels, f.bits)
	}
	return f, nil
}

func readData(r io.Reader, f *wavFormat, size uint32) ([][]int16, error) {
	streaming := size >= streamingSize
	limit := int64(size)
	if streaming {
		limit = maxWAVData + 1 // one more byte tells "too large" from "just fits"
	} else if size > maxWAVData {
		return nil, fmt.Errorf("%w: data chunk of %d bytes (limit %d)", ErrTooLarge, size, maxWAVData)
	}
	// ReadAll grows with what arrives, unlike make([]byte, size).
	data, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if streaming && len(data) > maxWAVData {
		return nil, fmt.Errorf("%w: more than %d bytes of samples", ErrTooLarge, maxWAVData)
	}
	if !streaming && int64(len(data)) < limit {
		return nil, fmt.Errorf("audio: WAV data chunk holds %d of %d bytes: %w", len(data), size, io.ErrUnexpectedEOF)
	}
	// A partial last frame (cut stream, sloppy writer) carries no whole
	// sample for every channel; drop it.
	frames := len(data) / f.blockAlign
	out := make([][]int16, f.channels)
	for c := range out {
		out[c] = make([]int16, frames)
	}
	for i := range frames {
		f.decodeFrame(data[i*f.blockAlign:], out, i)
	}
	return out, nil
}

// decodeFrame puts the samples of the frame at the start of b into
// out[channel][i].
func (f *wavFormat) decodeFrame(b []byte, out [][]int16, i int) {
	for c := range out {
		if f.bits == 8 {
			out[c][i] = (int16(b[c]) - 128) << 8
		} else {
			out[c][i] = int16(binary.LittleEndian.Uint16(b[2*c:]))
		}
	}
}

// truncated words a short read: inside a header, even a clean EOF means the
// file ended before it should have.
func truncated(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("audio: WAV ends inside %s: %w", what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("audio: reading WAV %s: %w", what, err)
}
