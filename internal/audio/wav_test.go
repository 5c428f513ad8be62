package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"
)

func TestWAVRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name     string
		rate     int
		channels [][]int16
	}{
		{"mono empty", 8000, [][]int16{{}}},
		{"mono one", 8000, [][]int16{{-32768}}},
		{"mono odd", 22050, [][]int16{{1, -2, 32767}}},
		{"stereo one", 8000, [][]int16{{7}, {-7}}},
		{"stereo odd", 16000, [][]int16{{1, 2, 3, 4, 5}, {-1, -2, -3, -4, -32768}}},
		{"mono long", 8000, [][]int16{sine(8000, 440, 20000, 10001).Samples}}, // crosses write batches
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := EncodeWAV(&buf, c.channels, c.rate); err != nil {
				t.Fatal(err)
			}
			if want := 44 + 2*len(c.channels)*len(c.channels[0]); buf.Len() != want {
				t.Errorf("file is %d bytes, want %d", buf.Len(), want)
			}
			rate, got, err := DecodeWAV(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if rate != c.rate || len(got) != len(c.channels) {
				t.Fatalf("decoded %d channels at %d, want %d at %d", len(got), rate, len(c.channels), c.rate)
			}
			for i := range got {
				if !slices.Equal(got[i], c.channels[i]) {
					t.Errorf("channel %d: %v, want %v", i, got[i], c.channels[i])
				}
			}
		})
	}
}

// TestEncodeWAVCanonical pins the header byte by byte: other tools (and
// people with a hex dump) expect exactly this 44-byte layout.
func TestEncodeWAVCanonical(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeWAV(&buf, [][]int16{{1, -1}, {256, 2}}, 8000); err != nil {
		t.Fatal(err)
	}
	want := []byte("RIFF\x2c\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00" +
		"\x40\x1f\x00\x00\x00\x7d\x00\x00\x04\x00\x10\x00data\x08\x00\x00\x00" +
		"\x01\x00\x00\x01\xff\xff\x02\x00")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n% x\nwant\n% x", buf.Bytes(), want)
	}
}

func TestEncodeWAVRefuses(t *testing.T) {
	for _, c := range []struct {
		name     string
		channels [][]int16
		rate     int
	}{
		{"no channels", nil, 8000},
		{"three channels", [][]int16{{1}, {1}, {1}}, 8000},
		{"ragged", [][]int16{{1, 2}, {1}}, 8000},
		{"zero rate", [][]int16{{1}}, 0},
		{"absurd rate", [][]int16{{1}}, 10_000_000},
	} {
		if err := EncodeWAV(io.Discard, c.channels, c.rate); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// chunk frames a RIFF chunk, with the pad byte odd sizes need.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// chunkSized frames a chunk whose header claims size, whatever body holds.
func chunkSized(id string, size uint32, body []byte) []byte {
	return append(append([]byte(id), binary.LittleEndian.AppendUint32(nil, size)...), body...)
}

func riff(chunks ...[]byte) []byte {
	body := append([]byte("WAVE"), slices.Concat(chunks...)...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

func fmtChunk(tag, channels uint16, rate uint32, bits uint16) []byte {
	align := channels * bits / 8
	b := binary.LittleEndian.AppendUint16(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(align))
	b = binary.LittleEndian.AppendUint16(b, align)
	b = binary.LittleEndian.AppendUint16(b, bits)
	return chunk("fmt ", b)
}

// extensible is a WAVE_FORMAT_EXTENSIBLE fmt chunk with subformat sub.
func extensible(sub uint16, channels uint16, rate uint32, bits uint16) []byte {
	b := fmtChunk(0xFFFE, channels, rate, bits)[8:]
	b = binary.LittleEndian.AppendUint16(b, 22)   // cbSize
	b = binary.LittleEndian.AppendUint16(b, bits) // valid bits
	b = binary.LittleEndian.AppendUint32(b, 3)    // FL|FR
	b = binary.LittleEndian.AppendUint16(b, sub)
	b = append(b, ksdataformatPCM...)
	return chunk("fmt ", b)
}

func le16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func TestDecodeWAVChunks(t *testing.T) {
	for _, c := range []struct {
		name string
		file []byte
		rate int
		want [][]int16
	}{
		{"LIST and odd chunks skipped",
			riff(chunk("LIST", []byte("INFOa")), fmtChunk(1, 1, 8000, 16), chunk("junk", []byte{1, 2, 3}), chunk("data", le16(5, -5, 300))),
			8000, [][]int16{{5, -5, 300}}},
		{"8-bit unsigned stereo",
			riff(fmtChunk(1, 2, 11025, 8), chunk("data", []byte{0, 255, 128, 129, 64, 192})),
			11025, [][]int16{{-32768, 0, -16384}, {32512, 256, 16384}}},
		{"8-bit odd data with pad, then trailing chunk",
			riff(fmtChunk(1, 1, 8000, 8), chunk("data", []byte{128, 130, 126}), chunk("LIST", []byte("x"))),
			8000, [][]int16{{0, 512, -512}}},
		{"extensible PCM",
			riff(extensible(1, 2, 48000, 16), chunk("data", le16(1, 2, 3, 4))),
			48000, [][]int16{{1, 3}, {2, 4}}},
		{"empty data",
			riff(fmtChunk(1, 1, 8000, 16), chunk("data", nil)),
			8000, [][]int16{{}}},
		// espeak-ng --stdout can't seek back, so it claims 0x7ffff000 bytes;
		// the samples run to EOF, and a half sample at the end is dropped.
		{"streaming size",
			append(riff(fmtChunk(1, 1, 22050, 16)), chunkSized("data", 0x7ffff000, append(le16(10, 20), 1))...),
			22050, [][]int16{{10, 20}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rate, got, err := DecodeWAV(bytes.NewReader(c.file))
			if err != nil {
				t.Fatal(err)
			}
			if rate != c.rate || len(got) != len(c.want) {
				t.Fatalf("decoded %d channels at %d, want %d at %d", len(got), rate, len(c.want), c.rate)
			}
			for i := range got {
				if !slices.Equal(got[i], c.want[i]) {
					t.Errorf("channel %d: %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestDecodeWAVRefuses(t *testing.T) {
	pcm16 := fmtChunk(1, 1, 8000, 16)
	valid := riff(pcm16, chunk("data", le16(1, 2, 3, 4)))
	for _, c := range []struct {
		name string
		file []byte
		want error
	}{
		{"IEEE float", riff(fmtChunk(3, 1, 8000, 32), chunk("data", make([]byte, 8))), ErrFormat},
		{"mu-law", riff(fmtChunk(7, 1, 8000, 8), chunk("data", make([]byte, 8))), ErrFormat},
		{"extensible float", riff(extensible(3, 1, 8000, 32), chunk("data", make([]byte, 8))), ErrFormat},
		{"24-bit", riff(fmtChunk(1, 1, 8000, 24), chunk("data", make([]byte, 6))), ErrFormat},
		{"three channels", riff(fmtChunk(1, 3, 8000, 16), chunk("data", make([]byte, 6))), ErrFormat},
		{"zero rate", riff(fmtChunk(1, 1, 0, 16), chunk("data", make([]byte, 2))), ErrFormat},
		{"not RIFF", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), ErrFormat},
		{"big-endian RIFX", append([]byte("RIFX"), valid[4:]...), ErrFormat},
		{"AVI", append(append([]byte("RIFF\x00\x00\x00\x00"), "AVI "...), pcm16...), ErrFormat},
		{"data before fmt", riff(chunk("data", le16(1)), pcm16), ErrFormat},
		{"two fmt", riff(pcm16, pcm16, chunk("data", le16(1))), ErrFormat},
		{"fmt too short", riff(chunk("fmt ", make([]byte, 14)), chunk("data", le16(1))), ErrFormat},
		{"fmt absurd", riff(chunkSized("fmt ", 1<<30, nil)), ErrFormat},
		{"empty", nil, io.ErrUnexpectedEOF},
		{"cut in RIFF header", valid[:10], io.ErrUnexpectedEOF},
		{"cut in fmt", valid[:30], io.ErrUnexpectedEOF},
		{"cut in chunk header", valid[:40], io.ErrUnexpectedEOF},
		{"cut in data", valid[:47], io.ErrUnexpectedEOF},
		{"no data chunk", riff(pcm16), io.ErrUnexpectedEOF},
		{"huge LIST", riff(pcm16, chunkSized("LIST", 0xFFFFFFF0, []byte("INFO"))), io.ErrUnexpectedEOF},
		{"lying data size", riff(pcm16, chunkSized("data", 100<<20, le16(1, 2))), io.ErrUnexpectedEOF},
		{"huge data", riff(pcm16, chunkSized("data", 0x7f000000, le16(1, 2))), ErrTooLarge},
		{"data past limit", riff(pcm16, chunkSized("data", maxWAVData+2, le16(1, 2))), ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := DecodeWAV(bytes.NewReader(c.file))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			// A lying size must cost nothing: memory follows the bytes present.
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file", n, len(c.file))
			}
		})
	}
}

// TestDecodeWAVStreamLimit feeds a streaming-size header endless samples:
// the decoder must stop at its limit rather than read forever.
func TestDecodeWAVStreamLimit(t *testing.T) {
	head := append(riff(fmtChunk(1, 1, 8000, 16)), chunkSized("data", 0xFFFFFFFF, nil)...)
	_, _, err := DecodeWAV(io.MultiReader(bytes.NewReader(head), zeros{}))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
