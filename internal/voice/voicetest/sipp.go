package voicetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Sipp is sipp running a UAS scenario on loopback, echoing RTP.
type Sipp struct {
	Port int // SIP, UDP
	// Messages is the file sipp writes every message it sent and
	// received to (-trace_msg), for tests that read what Parley sent.
	Messages string
	cmd      *exec.Cmd
	out      lockedBuffer
	done     chan error
}

// StartSipp runs sipp with scenario (a path) for calls calls on port (0:
// a free one), with extra arguments; it is killed when the test ends.
func StartSipp(t testing.TB, port int, scenario string, calls int, extra ...string) *Sipp {
	t.Helper()
	bin := NeedTool(t, "sipp")
	if port == 0 {
		port = FreeUDPPort(t)
	}
	dir := t.TempDir()
	s := &Sipp{Port: port, Messages: filepath.Join(dir, "messages.log"), done: make(chan error, 1)}
	abs, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-sf", abs, "-i", "127.0.0.1", "-p", fmt.Sprint(s.Port),
		"-mp", fmt.Sprint(FreeUDPPort(t)), "-rtp_echo", "-m", fmt.Sprint(calls), "-nostdin", "-timeout", "120s",
		"-trace_err", "-error_file", filepath.Join(dir, "err.log"), "-trace_msg", "-message_file", s.Messages,
		"-max_socket", "4096"}
	args = append(args, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	s.cmd.Dir, _ = os.Getwd()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.done <- nil
	})
	time.Sleep(150 * time.Millisecond) // let it bind; INVITE retransmission covers the rest
	return s
}

// Wait fails the test unless sipp finished with every call following
// the scenario (within 20 s).
func (s *Sipp) Wait(t testing.TB) {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("sipp: %v\n%s", err, tail(s.out.String(), 2000))
		}
	case <-time.After(20 * time.Second):
		t.Errorf("sipp did not finish\n%s", tail(s.out.String(), 2000))
	}
}

// Output is what sipp printed.
func (s *Sipp) Output() string { return s.out.String() }

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
