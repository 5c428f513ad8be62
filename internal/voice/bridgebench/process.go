package bridgebench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// The load process. With Config.LoadCommand, Run starts the load side
// (phone, browsers, talker, receivers) as a child process, so that
// Parley's side has a Go runtime of its own: its scheduler, timers and
// GC no longer share the process with a hundred pion peers and RTP
// senders. The two talk in JSON lines over the child's stdin and stdout:
// the parent first writes the run's Config, then the child sends
// requests (dial, relay, answer, window, finish) with an id, the parent answers
// each with the same id, and the child ends with its Result.

// LoadEnv, set to 1 in a process's environment, makes ServeLoadIfChild
// run the load side on stdin and stdout instead of the program.
const LoadEnv = "PARLEY_BRIDGEBENCH_LOAD"

// ServeLoadIfChild runs the load side and exits when this process was
// started as one (LoadEnv); otherwise it returns at once. Programs
// whose binary is a LoadCommand (parley-bench, the tests) call it first
// in main or TestMain.
func ServeLoadIfChild() {
	if os.Getenv(LoadEnv) != "1" {
		return
	}
	if err := ServeLoad(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bridgebench load:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// message is one line either way.
type message struct {
	ID     int          `json:"id,omitempty"`
	Op     string       `json:"op,omitempty"` // dial, relay, answer, window, finish; result, error (the child's last line)
	Port   int          `json:"port,omitempty"`
	N      int          `json:"n,omitempty"`
	Call   int          `json:"call,omitempty"`
	SDP    string       `json:"sdp,omitempty"`
	Ports  []int        `json:"ports,omitempty"`
	Err    string       `json:"err,omitempty"`
	Result *Result      `json:"result,omitempty"`
	Stats  *ServerStats `json:"stats,omitempty"`
}

// lineWriter writes messages from several goroutines.
type lineWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *lineWriter) send(m any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(m)
}

// ServeLoad is the load process: it reads the run's Config from r, runs
// the load, asking the parent on w for the server side, and writes the
// Result.
func ServeLoad(ctx context.Context, r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &loadClient{out: &lineWriter{enc: json.NewEncoder(w)}, pending: map[int]chan message{}}
	go func() {
		defer cancel() // the parent went away
		for {
			var m message
			if err := dec.Decode(&m); err != nil {
				return
			}
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}()
	res, err := runLoad(ctx, cfg, c)
	if err != nil {
		return errors.Join(err, c.out.send(message{Op: "error", Err: err.Error()}))
	}
	return c.out.send(message{Op: "result", Result: res})
}

// loadClient is the server interface in the load process: each call is a
// request to the parent.
type loadClient struct {
	out     *lineWriter
	mu      sync.Mutex
	next    int
	pending map[int]chan message
}

func (c *loadClient) call(ctx context.Context, m message) (message, error) {
	ch := make(chan message, 1)
	c.mu.Lock()
	c.next++
	m.ID = c.next
	c.pending[m.ID] = ch
	c.mu.Unlock()
	if err := c.out.send(m); err != nil {
		return message{}, err
	}
	select {
	case r := <-ch:
		if r.Err != "" {
			return r, errors.New(r.Err)
		}
		return r, nil
	case <-ctx.Done():
		return message{}, ctx.Err()
	}
}

func (c *loadClient) dial(ctx context.Context, port, calls int) error {
	_, err := c.call(ctx, message{Op: "dial", Port: port, N: calls})
	return err
}

func (c *loadClient) relay(ctx context.Context, sink, n int) ([]int, error) {
	r, err := c.call(ctx, message{Op: "relay", Port: sink, N: n})
	return r.Ports, err
}

func (c *loadClient) answer(ctx context.Context, call int, offer string) (string, error) {
	r, err := c.call(ctx, message{Op: "answer", Call: call, SDP: offer})
	return r.SDP, err
}

func (c *loadClient) window(ctx context.Context) error {
	_, err := c.call(ctx, message{Op: "window"})
	return err
}

func (c *loadClient) finish(ctx context.Context) (ServerStats, error) {
	r, err := c.call(ctx, message{Op: "finish"})
	if err != nil || r.Stats == nil {
		return ServerStats{}, errors.Join(err, errors.New("finish: no stats"))
	}
	return *r.Stats, nil
}

// runChild runs the load as cfg.LoadCommand and serves its requests from
// srv until it sends its Result.
func runChild(ctx context.Context, cfg Config, srv server) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.LoadCommand[0], cfg.LoadCommand[1:]...)
	cmd.Env = append(os.Environ(), LoadEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("load process: %w", err)
	}
	defer func() { _ = cmd.Wait() }()
	defer in.Close()
	w := &lineWriter{enc: json.NewEncoder(in)}
	child := cfg
	child.Log, child.LoadCommand = nil, nil
	if err := w.send(child); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	dec := json.NewDecoder(bufio.NewReader(outPipe))
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("load process: %w", err)
		}
		switch m.Op {
		case "result":
			if m.Result == nil {
				return nil, errors.New("load process: empty result")
			}
			return m.Result, nil
		case "error":
			return nil, fmt.Errorf("load process: %s", m.Err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := message{ID: m.ID}
			var err error
			switch m.Op {
			case "dial":
				err = srv.dial(ctx, m.Port, m.N)
			case "relay":
				r.Ports, err = srv.relay(ctx, m.Port, m.N)
			case "answer":
				r.SDP, err = srv.answer(ctx, m.Call, m.SDP)
			case "window":
				err = srv.window(ctx)
			case "finish":
				var st ServerStats
				st, err = srv.finish(ctx)
				r.Stats = &st
			default:
				err = fmt.Errorf("unknown request %q", m.Op)
			}
			if err != nil {
				r.Err = err.Error()
			}
			_ = w.send(r)
		}()
	}
}
