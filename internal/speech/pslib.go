package speech

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The pocketsphinx library (libpocketsphinx.so.3, Debian's libpocketsphinx3,
// 5prealpha API) loaded at run time through purego, so the binary still
// builds and runs with CGO_ENABLED=0 and works without the library (the
// batch process is then the fallback). Only the calls a streaming decoder
// needs are bound.
const (
	psLibName   = "libpocketsphinx.so.3"
	sbLibName   = "libsphinxbase.so.3"
	psLibSearch = "_default" // pocketsphinx's name of the -lm search
)

type psLib struct {
	args        func() uintptr
	parse       func(inout uintptr, defn uintptr, argc int32, argv unsafe.Pointer, strict int32) uintptr
	cfgFree     func(cfg uintptr) int32
	initPS      func(cfg uintptr) uintptr
	free        func(ps uintptr) int32
	setJSGF     func(ps uintptr, name string, jsgf string) int32
	setSearch   func(ps uintptr, name string) int32
	unsetSearch func(ps uintptr, name string) int32
	startUtt    func(ps uintptr) int32
	processRaw  func(ps uintptr, data unsafe.Pointer, n uintptr, noSearch int32, fullUtt int32) int32
	endUtt      func(ps uintptr) int32
	getHyp      func(ps uintptr, score unsafe.Pointer) *byte
}

var (
	psLibOnce sync.Once
	psLibVal  *psLib
	psLibErr  error
)

// loadPSLib opens the library once per process.
func loadPSLib() (*psLib, error) {
	psLibOnce.Do(func() {
		sb, err := purego.Dlopen(sbLibName, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			psLibErr = fmt.Errorf("%w: pocketsphinx library: %v (Debian: apt-get install libpocketsphinx3)", ErrUnavailable, err)
			return
		}
		h, err := purego.Dlopen(psLibName, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			psLibErr = fmt.Errorf("%w: pocketsphinx library: %v (Debian: apt-get install libpocketsphinx3)", ErrUnavailable, err)
			return
		}
		l := &psLib{}
		defer func() {
			if r := recover(); r != nil { // a symbol missing: another ABI
				psLibVal, psLibErr = nil, fmt.Errorf("%w: pocketsphinx library: %v", ErrUnavailable, r)
			}
		}()
		purego.RegisterLibFunc(&l.args, h, "ps_args")
		purego.RegisterLibFunc(&l.parse, sb, "cmd_ln_parse_r")
		purego.RegisterLibFunc(&l.cfgFree, sb, "cmd_ln_free_r")
		purego.RegisterLibFunc(&l.initPS, h, "ps_init")
		purego.RegisterLibFunc(&l.free, h, "ps_free")
		purego.RegisterLibFunc(&l.setJSGF, h, "ps_set_jsgf_string")
		purego.RegisterLibFunc(&l.setSearch, h, "ps_set_search")
		purego.RegisterLibFunc(&l.unsetSearch, h, "ps_unset_search")
		purego.RegisterLibFunc(&l.startUtt, h, "ps_start_utt")
		purego.RegisterLibFunc(&l.processRaw, h, "ps_process_raw")
		purego.RegisterLibFunc(&l.endUtt, h, "ps_end_utt")
		purego.RegisterLibFunc(&l.getHyp, h, "ps_get_hyp")
		psLibVal = l
	})
	return psLibVal, psLibErr
}

// cstrings holds NUL-terminated copies of Go strings and the char* array
// pointing at them, alive as long as the holder.
type cstrings struct {
	bufs [][]byte
	ptrs []*byte
}

func newCStrings(ss []string) *cstrings {
	c := &cstrings{}
	for _, s := range ss {
		b := append([]byte(s), 0)
		c.bufs = append(c.bufs, b)
		c.ptrs = append(c.ptrs, &b[0])
	}
	c.ptrs = append(c.ptrs, nil)
	return c
}

// goString copies the NUL-terminated C string at p.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	var n int
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// psDecoder is one pocketsphinx decoder: the acoustic model, dictionary
// and language model in memory, and the grammar searches added to it.
// A decoder serves one utterance at a time (psPool hands it out).
type psDecoder struct {
	lib      *psLib
	ps       uintptr
	argv     *cstrings
	grammars map[string]uint64 // search name → last use
	uses     uint64
	inUtt    bool
}

// psMaxSearches bounds the grammars one decoder keeps; the least recently
// used is dropped past it.
const psMaxSearches = 64

func newPSDecoder(lib *psLib, hmm, dict, lm string) (*psDecoder, error) {
	args := []string{"parley",
		"-hmm", hmm, "-dict", dict, "-lm", lm,
		"-samprate", "16000",
		"-dither", "yes", "-seed", "1",
		// The language model's second passes (flat lexicon, best path)
		// re-decode the whole utterance when it ends: the hypothesis of
		// the first pass, ready as the audio arrives, is what a turn
		// needs. Grammars have no such passes.
		"-fwdflat", "no", "-bestpath", "no",
		"-logfn", "/dev/null",
	}
	d := &psDecoder{lib: lib, argv: newCStrings(args), grammars: map[string]uint64{}}
	cfg := lib.parse(0, lib.args(), int32(len(args)), unsafe.Pointer(&d.argv.ptrs[0]), 1)
	runtime.KeepAlive(d.argv)
	if cfg == 0 {
		return nil, fmt.Errorf("%w: pocketsphinx library: bad configuration", ErrUnavailable)
	}
	d.ps = lib.initPS(cfg)
	lib.cfgFree(cfg) // ps_init holds its own reference
	if d.ps == 0 {
		return nil, fmt.Errorf("%w: pocketsphinx library: init failed (model files %s, %s, %s)", ErrUnavailable, hmm, dict, lm)
	}
	return d, nil
}

// use selects the search for grammar ("" is the language model), adding it
// to the decoder the first time.
func (d *psDecoder) use(grammar string) error {
	name := psLibSearch
	if grammar != "" {
		name = grammarName(grammar)
		if _, ok := d.grammars[name]; !ok {
			if len(d.grammars) >= psMaxSearches {
				d.evict()
			}
			if d.lib.setJSGF(d.ps, name, grammar) != 0 {
				return fmt.Errorf("%w: pocketsphinx: grammar refused", ErrBadRequest)
			}
		}
		d.uses++
		d.grammars[name] = d.uses
	}
	if d.lib.setSearch(d.ps, name) != 0 {
		return fmt.Errorf("speech: pocketsphinx: search %s refused", name)
	}
	return nil
}

func (d *psDecoder) evict() {
	var oldest string
	var at uint64
	for n, u := range d.grammars {
		if oldest == "" || u < at {
			oldest, at = n, u
		}
	}
	d.lib.unsetSearch(d.ps, oldest)
	delete(d.grammars, oldest)
}

func (d *psDecoder) start() error {
	if d.lib.startUtt(d.ps) < 0 {
		return fmt.Errorf("speech: pocketsphinx: start utterance failed")
	}
	d.inUtt = true
	return nil
}

// process decodes samples at 16 kHz.
func (d *psDecoder) process(samples []int16) {
	if len(samples) == 0 {
		return
	}
	d.lib.processRaw(d.ps, unsafe.Pointer(&samples[0]), uintptr(len(samples)), 0, 0)
	runtime.KeepAlive(samples)
}

// hyp is the current (partial, or after end the final) hypothesis.
func (d *psDecoder) hyp() string {
	var score int32
	p := d.lib.getHyp(d.ps, unsafe.Pointer(&score))
	return goString(p)
}

func (d *psDecoder) end() string {
	if !d.inUtt {
		return ""
	}
	d.inUtt = false
	d.lib.endUtt(d.ps)
	return d.hyp()
}

func (d *psDecoder) close() {
	if d.ps != 0 {
		d.lib.free(d.ps)
		d.ps = 0
	}
}
