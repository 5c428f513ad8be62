package audio

import (
	"runtime"
	"sync/atomic"
)

// MediaNice is the nice value of the threads that run real-time media
// work: the SIP calls' 20 ms media clock and each recognizer decoding a turn.
// The calling goroutine is locked to its own OS thread, which gets this
// priority, so the media keeps its timing while the node (or the machine)
// is busy with background work: imports, reports, other processes.
// 0 leaves the goroutine unlocked at the process's priority. Lowering a
// nice value needs CAP_SYS_NICE (root); without it the thread keeps the
// process's priority. PARLEY_VOICE_NICE sets it at start.
var MediaNice atomic.Int32

func init() { MediaNice.Store(DefaultMediaNice) }

// DefaultMediaNice favours media threads over the rest of the machine.
const DefaultMediaNice = -10

// MediaThread locks the calling goroutine to its OS thread and gives the
// thread MediaNice. The goroutine must not unlock it: the thread then ends
// with the goroutine, and its priority with it.
func MediaThread() {
	n := MediaNice.Load()
	if n == 0 {
		return
	}
	runtime.LockOSThread()
	setThreadNice(int(n))
}
