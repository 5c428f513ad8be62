package audio

import "syscall"

// setThreadNice sets the calling thread's nice value (Linux schedules
// threads, so PRIO_PROCESS with a thread id applies to that thread only).
// A refusal (no CAP_SYS_NICE) leaves the priority as it was.
func setThreadNice(n int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n)
}
