package script

import (
	"fmt"
	"math"
	"math/big"
	"sync/atomic"

	"go.starlark.net/starlark"
)

// What one run may use beyond its per-turn limits. A run is one call or
// one replay of a chat's transcript.
const (
	// DefaultMaxAlloc bounds what the bulk operations of one run allocate
	// (see rewrite.go), in bytes.
	DefaultMaxAlloc = 64 << 20
	// DefaultMaxRunSteps bounds the steps of one run. It bounds the CPU a
	// run takes and the memory it builds one element per step: a step
	// allocates 16 bytes or less (measured: appends, comprehensions, dict
	// stores), so 4,000,000 steps build at most about 64 MB.
	DefaultMaxRunSteps = 4_000_000
)

var runLimits struct{ maxAlloc, maxRunSteps atomic.Int64 }

func init() { SetRunLimits(0, 0) }

// SetRunLimits sets the limits of the runs whose Config leaves them zero:
// the bytes bulk operations may allocate and the steps of one run (0: the
// defaults). A node sets them once at start (PARLEY_SCRIPT_MAX_ALLOC,
// PARLEY_SCRIPT_MAX_RUN_STEPS).
func SetRunLimits(maxAlloc int64, maxRunSteps uint64) {
	if maxAlloc <= 0 {
		maxAlloc = DefaultMaxAlloc
	}
	if maxRunSteps == 0 || maxRunSteps > math.MaxInt64 {
		maxRunSteps = DefaultMaxRunSteps
	}
	runLimits.maxAlloc.Store(maxAlloc)
	runLimits.maxRunSteps.Store(int64(maxRunSteps))
}

// Sizes charged per element of what a guarded operation builds. They are
// what the Go values take on 64-bit machines, rounded up.
const (
	slotBytes  = 16 // a starlark.Value in a list or tuple
	entryBytes = 64 // a dict or set entry (key, value, hash, links)
	tupleBytes = 48 // a small tuple's header and boxing, beyond its slots
	stringHead = 16 // a string value's header and boxing
)

// memoryError is a run past its allocation budget.
type memoryError struct {
	what, limit string
	perValue    bool // limit bounds one value, not the run
}

func (e *memoryError) Error() string {
	if e.perValue {
		return fmt.Sprintf("memory limit exceeded: %s is more than the %s a script may build", e.what, e.limit)
	}
	return fmt.Sprintf("memory limit exceeded: %s would take this run past its %s of memory", e.what, e.limit)
}

// charge counts n bytes against the run's budget, or refuses them saying
// what they were for. what is only called to refuse: the words cost more
// than the counting.
func (r *runner) charge(n int64, what func() string) error {
	if n < 0 || n > r.maxAlloc-r.allocated {
		return &memoryError{what: what(), limit: byteSize(r.maxAlloc)}
	}
	r.allocated += n
	return nil
}

// byteSize writes n bytes for people: "64 MiB", "1.5 GiB", "300 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return trimZero(float64(n)/(1<<30)) + " GiB"
	case n >= 1<<20:
		return trimZero(float64(n)/(1<<20)) + " MiB"
	case n >= 1<<10:
		return trimZero(float64(n)/(1<<10)) + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trimZero(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}

// mul multiplies sizes without overflowing: past MaxInt64 is MaxInt64,
// which no budget affords.
func mul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// lengthOf is the number of elements v yields when iterated, if known
// without iterating (sequences, ranges, dicts, sets, string iterables).
func lengthOf(v starlark.Value) (int64, bool) {
	if s, ok := v.(starlark.Sequence); ok {
		return int64(s.Len()), true
	}
	if s, ok := v.(interface{ Len() int }); ok {
		return int64(s.Len()), true
	}
	return 0, false
}

// intBytes is the size of an int's magnitude.
func intBytes(v starlark.Int) int64 {
	if _, ok := v.Int64(); ok {
		return 8
	}
	return int64(v.BigInt().BitLen()/8 + 8)
}

// textSize is an upper bound of the length of v's text (str(v) for
// strings, repr(v) for others, as inside containers), walking at most what
// limit allows: the result is past limit as soon as the text would be.
// Shared values are counted every time they are reached, as the text
// repeats them; cycles (which the text elides) once.
func textSize(v starlark.Value, quoted bool, limit int64) int64 {
	w := sizeWalk{limit: limit, onPath: map[any]bool{}}
	w.value(v, quoted)
	return w.n
}

type sizeWalk struct {
	n, limit int64
	onPath   map[any]bool
}

func (w *sizeWalk) over() bool { return w.n > w.limit }

func (w *sizeWalk) value(v starlark.Value, quoted bool) {
	if w.over() {
		return
	}
	switch v := v.(type) {
	case starlark.String:
		if quoted {
			w.n = add(w.n, mul(int64(len(v)), 4)+2) // every byte might need \xNN
		} else {
			w.n = add(w.n, int64(len(v)))
		}
	case starlark.Bytes:
		w.n = add(w.n, mul(int64(len(v)), 4)+3)
	case starlark.Int:
		if _, ok := v.Int64(); ok {
			w.n += 20
		} else {
			w.n = add(w.n, int64(v.BigInt().BitLen()*3/10+2))
		}
	case starlark.Float:
		w.n += 32
	case starlark.Bool, starlark.NoneType:
		w.n += 5
	case *starlark.List:
		w.seq(v, v, 2)
	case starlark.Tuple:
		w.seq(nil, v, 3)
	case *starlark.Dict:
		if w.enter(v) {
			w.n += 2
			for _, kv := range v.Items() {
				w.value(kv[0], true)
				w.value(kv[1], true)
				w.n += 4
				if w.over() {
					break
				}
			}
			delete(w.onPath, v)
		}
	case *starlark.Set:
		if w.enter(v) {
			w.n += 5
			iter := v.Iterate()
			var x starlark.Value
			for iter.Next(&x) && !w.over() {
				w.value(x, true)
				w.n += 2
			}
			iter.Done()
			delete(w.onPath, v)
		}
	default:
		// Functions, builtins, the session, ranges, string iterables:
		// their text is short (a range's is its bounds).
		w.n += 128
	}
}

func (w *sizeWalk) seq(key any, s starlark.Indexable, brackets int64) {
	if key != nil && !w.enter(key) {
		return
	}
	w.n += brackets
	for i := range s.Len() {
		w.value(s.Index(i), true)
		w.n += 2
		if w.over() {
			break
		}
	}
	if key != nil {
		delete(w.onPath, key)
	}
}

// enter marks a container as being written; false if it already is (a
// cycle, which the text shows as "[...]").
func (w *sizeWalk) enter(key any) bool {
	if w.onPath[key] {
		w.n += 5
		return false
	}
	w.onPath[key] = true
	return true
}

// bigIntBits is the bit length of an int.
func bigIntBits(v starlark.Int) int64 {
	if x, ok := v.Int64(); ok {
		return int64(new(big.Int).SetInt64(x).BitLen())
	}
	return int64(v.BigInt().BitLen())
}
