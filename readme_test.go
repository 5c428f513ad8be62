package parley_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// The README cannot rot: its walk-through runs here, as written, against a
// fresh `parley demo`; its command list is what `parley help` prints; its
// links stay inside the repository.

// readmeSection returns the lines of README.md from the level-2 heading
// named title to the next level-2 heading.
func readmeSection(t *testing.T, title string) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(strings.TrimPrefix(line, "## ")) == title
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no section %q", title)
	}
	return out
}

// fencedBlocks returns the code blocks of lines whose fence's info string
// is lang ("" for any).
func fencedBlocks(lines []string, lang string) []string {
	var blocks []string
	var cur []string
	open, keep := false, false
	for _, line := range lines {
		if strings.HasPrefix(line, "```") {
			if open {
				if keep {
					blocks = append(blocks, strings.Join(cur, "\n")+"\n")
				}
				open, cur = false, nil
				continue
			}
			info := strings.TrimSpace(strings.TrimPrefix(line, "```"))
			open, keep = true, lang == "" || info == lang
			continue
		}
		if open {
			cur = append(cur, line)
		}
	}
	return blocks
}

var (
	readmeBinOnce sync.Once
	readmeBin     string
	readmeBinErr  error
)

// parleyBinary builds cmd/parley once for the package's tests.
func parleyBinary(t *testing.T) string {
	t.Helper()
	readmeBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-readme")
		if err != nil {
			readmeBinErr = err
			return
		}
		readmeBin = filepath.Join(dir, "parley")
		if out, err := exec.Command("go", "build", "-o", readmeBin, "./cmd/parley").CombinedOutput(); err != nil {
			readmeBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if readmeBinErr != nil {
		t.Fatal(readmeBinErr)
	}
	return readmeBin
}

// TestREADMEWalkThrough runs the ```sh blocks of the README's walk-through
// (its "## Walk-through" section and the subsections under it) in one bash
// with -euo pipefail, against `parley demo` on a free port and an empty
// data directory: a block that fails, or a variable used before it is
// set, fails the test, which names the block.
func TestREADMEWalkThrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walk-through needs %s (Debian package %s); .ci/run installs it", tool, tool)
		}
	}
	blocks := fencedBlocks(readmeSection(t, "Walk-through"), "sh")
	if len(blocks) < 3 {
		t.Fatalf("the README's walk-through has %d sh blocks; want its setup, outbound and chat blocks", len(blocks))
	}
	bin := parleyBinary(t)
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		data := filepath.Join(dir, "parley-data")
		base, logs := startDemo(t, bin, dsn, data)

		var script strings.Builder
		script.WriteString("set -euo pipefail\n")
		for i, b := range blocks {
			name := filepath.Join(dir, fmt.Sprintf("block%d.sh", i+1))
			if err := os.WriteFile(name, []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&script, ". %q\necho '::block %d done::'\n", name, i+1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8", "BASE=" + base, "PARLEY_DATA_DIR=" + data}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil {
			done := regexp.MustCompile(`::block (\d+) done::`).FindAllStringSubmatch(out.String(), -1)
			failed := 1
			if len(done) > 0 {
				fmt.Sscan(done[len(done)-1][1], &failed)
				failed++
			}
			t.Fatalf("README walk-through block %d failed: %v\n--- block ---\n%s--- output ---\n%s\n--- server log (tail) ---\n%s",
				failed, err, blocks[failed-1], tail(out.String(), 4000), tail(logs.String(), 3000))
		}
		if n := strings.Count(out.String(), " done::"); n != len(blocks) {
			t.Fatalf("%d of %d blocks ran:\n%s", n, len(blocks), out.String())
		}
		// What the walk-through left behind is there: the recording.
		if fi, err := os.Stat(filepath.Join(dir, "call.wav")); err != nil || fi.Size() < 1000 {
			t.Errorf("call.wav after the walk-through: %v %v", fi, err)
		}
	})
}

// startDemo runs `parley demo` on a free port with its data in data and
// waits until it has printed its pages; its log is returned for failures.
func startDemo(t *testing.T, bin, dsn, data string) (string, *syncBuffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "demo", "--addr", addr, "--data-dir", data)
	cmd.Env = append(os.Environ(), "PARLEY_DB="+dsn, "PARLEY_LOG_LEVEL=info")
	cmd.Dir = filepath.Dir(data)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	printed := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ctrl-C stops") {
				printed <- all.String()
			}
		}
	}()
	select {
	case out := <-printed:
		base := "http://" + addr
		for _, want := range []string{base + "/console/", base + "/supervisor/", base + "/widget/demo/?project=", "demo-op1 / ", "demo-admin / ", "demo-api / "} {
			if !strings.Contains(out, want) {
				t.Fatalf("parley demo did not print %q:\n%s", want, out)
			}
		}
		if res, err := http.Get(base + "/healthz"); err != nil || res.StatusCode != 200 {
			t.Fatalf("healthz after the demo printed its pages: %v %v", err, res)
		}
		return base, logs
	case <-time.After(2 * time.Minute):
		t.Fatalf("parley demo printed no pages:\n%s", logs.String())
	}
	return "", nil
}

// TestREADMECommandsAreTheHelp: the README's command list is what
// `parley help` prints, line for line.
func TestREADMECommandsAreTheHelp(t *testing.T) {
	blocks := fencedBlocks(readmeSection(t, "Commands"), "")
	if len(blocks) == 0 {
		t.Fatal("the README's Commands section has no code block")
	}
	readme := strings.Split(strings.TrimSpace(blocks[0]), "\n")
	out, err := exec.Command(parleyBinary(t), "help").Output()
	if err != nil {
		t.Fatal(err)
	}
	var help []string
	in := false
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case line == "Usage:":
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			help = append(help, strings.TrimSpace(line))
		}
	}
	if strings.Join(readme, "\n") != strings.Join(help, "\n") {
		t.Errorf("the README's commands and `parley help` differ:\nREADME:\n%s\nhelp:\n%s", strings.Join(readme, "\n"), strings.Join(help, "\n"))
	}
}

// TestREADMELinksStayInside: every link of the README is to a file of the
// repository (a user of the repository has nothing beside it).
func TestREADMELinksStayInside(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(string(b), -1) {
		target := strings.SplitN(m[1], "#", 2)[0]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "..") || filepath.IsAbs(target) {
			t.Errorf("README links outside the repository: %s", m[1])
			continue
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("README links to %s, which does not exist", m[1])
		}
	}
	if bytes.Contains(b, []byte("../shared")) {
		t.Error("README mentions ../shared, which a user of the repository does not have")
	}
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
