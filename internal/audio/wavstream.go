package audio

import (
	"errors"
	"fmt"
	"io"
)

// decodeWAVStream reads a WAV from r as DecodeWAV does and converts it to
// mono at rate, handing each piece of the result to emit as soon as it
// is final (a writer streaming to a pipe gives its samples as it makes
// them). It returns the whole result, bit for bit Resample(downmix) of
// what DecodeWAV would have returned.
func decodeWAVStream(r io.Reader, rate int, emit func([]int16)) (PCM, error) {
	f, size, err := readWAVHeader(r)
	if err != nil {
		return PCM{}, err
	}
	streaming := size >= streamingSize
	limit := int64(size)
	if streaming {
		limit = maxWAVData + 1
	} else if size > maxWAVData {
		return PCM{}, fmt.Errorf("%w: data chunk of %d bytes (limit %d)", ErrTooLarge, size, maxWAVData)
	}
	rs := NewResampler(f.rate, rate)
	out := PCM{Rate: rate}
	give := func(s []int16) {
		if len(s) == 0 {
			return
		}
		out.Samples = append(out.Samples, s...)
		if emit != nil {
			emit(s)
		}
	}
	lr := io.LimitReader(r, limit)
	buf := make([]byte, 0, 8192)
	var total int64
	for {
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		total += int64(n)
		if frames := len(buf) / f.blockAlign; frames > 0 {
			ch := make([][]int16, f.channels)
			for c := range ch {
				ch[c] = make([]int16, frames)
			}
			for i := range frames {
				f.decodeFrame(buf[i*f.blockAlign:], ch, i)
			}
			give(rs.Write(downmix(ch)))
			rest := copy(buf, buf[frames*f.blockAlign:])
			buf = buf[:rest]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return PCM{}, err
		}
	}
	if streaming && total > maxWAVData {
		return PCM{}, fmt.Errorf("%w: more than %d bytes of samples", ErrTooLarge, maxWAVData)
	}
	if !streaming && total < limit {
		return PCM{}, fmt.Errorf("audio: WAV data chunk holds %d of %d bytes: %w", total, size, io.ErrUnexpectedEOF)
	}
	// A partial last frame left in buf carries no whole sample: dropped,
	// as DecodeWAV does.
	give(rs.Flush())
	return out, nil
}
