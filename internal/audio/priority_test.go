//go:build linux

package audio

import (
	"os"
	"syscall"
	"testing"
)

// TestMediaThread: the media goroutine's thread gets MediaNice (as root;
// without CAP_SYS_NICE the refusal leaves it unchanged), and other threads
// keep the process's priority.
func TestMediaThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_SYS_NICE to lower a nice value")
	}
	got := make(chan int, 1)
	go func() {
		MediaThread()
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		if err != nil {
			t.Error(err)
		}
		got <- p
	}()
	// getpriority(2) returns 20-nice from the raw syscall.
	if p := <-got; 20-p != DefaultMediaNice {
		t.Errorf("media thread nice %d, want %d", 20-p, DefaultMediaNice)
	}
	p, _ := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if 20-p == DefaultMediaNice {
		t.Error("the test's own thread was changed too")
	}
}
