package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestNATSRequestReply: a node's request reaches the node replying on its
// subject and gets its answer; a replier that stays silent (nil) and a
// subject nobody listens to both give ErrNoReply.
func TestNATSRequestReply(t *testing.T) {
	u := natsURL(t)
	prefix := fmt.Sprintf("parley-test.%d", time.Now().UnixNano())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := ConnectNATS(NewBus(), NATSOptions{URL: u, Subject: prefix + ".events", Node: "a", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ConnectNATS(NewBus(), NATSOptions{URL: u, Subject: prefix + ".events", Node: "b", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stop, err := b.Reply(prefix+".rpc.b", func(data []byte) []byte {
		if string(data) == "silent" {
			return nil
		}
		return append([]byte("b got "), data...)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := a.Request(ctx, prefix+".rpc.b", []byte("hello"))
	if err != nil || string(out) != "b got hello" {
		t.Fatalf("request: %q, %v", out, err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	if _, err := a.Request(short, prefix+".rpc.b", []byte("silent")); !errors.Is(err, ErrNoReply) {
		t.Fatalf("a silent replier: %v, want ErrNoReply", err)
	}
	if _, err := a.Request(ctx, prefix+".rpc.nobody", []byte("x")); !errors.Is(err, ErrNoReply) {
		t.Fatalf("nobody listening: %v, want ErrNoReply", err)
	}
	stop()
	if _, err := a.Request(ctx, prefix+".rpc.b", []byte("x")); !errors.Is(err, ErrNoReply) {
		t.Fatalf("after stop: %v, want ErrNoReply", err)
	}
	// The requests did not leak into the events.
	if _, received, _ := b.Stats(); received != 0 {
		t.Fatalf("node b received %d events", received)
	}
}
