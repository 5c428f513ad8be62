package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestBenchChatRuns runs `parley bench chat` tiny, closed and open loop,
// so that it cannot rot. It asserts no timings.
func TestBenchChatRuns(t *testing.T) {
	for _, rate := range []string{"0", "200"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out, errOut bytes.Buffer
		args := []string{"chat", "--chats", "3", "--posters", "2", "--duration", "300ms", "--warmup", "100ms",
			"--raw-duration", "100ms", "--rate", rate, "--json"}
		err := bench(ctx, args, &out, &errOut)
		cancel()
		if err != nil {
			t.Fatalf("bench %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, &out, &errOut)
		}
		var rep chatBenchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("output is not one JSON report: %v\n%s", err, &out)
		}
		if rep.Acked == 0 || rep.Delivered != rep.Acked || rep.Missing != 0 || rep.Duplicates != 0 || rep.Errors != 0 {
			t.Fatalf("rate %s: acked %d, delivered %d, missing %d, duplicates %d, errors %d (%s)",
				rate, rep.Acked, rep.Delivered, rep.Missing, rep.Duplicates, rep.Errors, rep.FirstError)
		}
		if rep.RawInsertRate <= 0 || rep.ServiceRate <= 0 || rep.DeliverMax <= 0 || rep.Machine.NumCPU == 0 {
			t.Fatalf("report lacks numbers: %+v", rep)
		}
	}
	var out bytes.Buffer
	if err := bench(context.Background(), []string{"chat", "--chats", "1", "--posters", "1", "--duration", "100ms",
		"--warmup", "0s", "--raw-duration", "50ms"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"baseline: single-row", "create-to-WebSocket p50", "goal >= 2000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, &out)
		}
	}
	for _, args := range [][]string{{"chat", "--chats", "0"}, {"chat", "--duration", "0s"}, {"chat", "x"}, {"ws-idle", "--conns", "0"}} {
		if err := bench(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("bench %q: no error", args)
		}
	}
}

// TestBenchWSIdleRuns runs `parley bench ws-idle` with a few connections
// against a real `parley serve` child.
func TestBenchWSIdleRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"ws-idle", "--conns", "20", "--chats", "4", "--hold", "200ms", "--bin", parleyBinary(t), "--json"}
	if err := bench(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	var rep wsIdleReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not one JSON report: %v\n%s", err, &out)
	}
	if rep.Opened != 20 || rep.RSSBefore <= 0 || rep.RSSAfter <= 0 || rep.BroadcastWant != 5 || rep.Broadcast != 5 {
		t.Fatalf("report %+v", rep)
	}
}

// TestNATSServeProcesses runs two `parley serve` processes on one
// PostgreSQL database, linked through PARLEY_NATS_URL: a message posted
// to one reaches a WebSocket held on the other.
func TestNATSServeProcesses(t *testing.T) {
	nats := testenv.NATSURL(t)
	dsn := testenv.PostgresDSN(t)
	c := adminJSON(t, dsn, "create-company", "--name", "Acme")
	adminJSON(t, dsn, "create-user", "--company", c["company_uuid"].(string), "--login", "api1", "--password", "s3cret-pass", "--role", "api")
	env := []string{"PARLEY_NATS_URL=" + nats, fmt.Sprintf("PARLEY_NATS_SUBJECT=parley-test.%d.events", time.Now().UnixNano())}
	_, base1 := startServe(t, dsn, env...)
	_, base2 := startServe(t, dsn, env...)
	token := loginHTTP(t, base1, "api1", "s3cret-pass")
	var cl struct {
		ClientID int64 `json:"client_id"`
	}
	if st := call(t, base1, token, "POST", "/v1/clients", map[string]any{"name": "C"}, &cl); st != 201 {
		t.Fatalf("client: %d", st)
	}
	var ch struct {
		ChatID int64 `json:"chat_id"`
	}
	if st := call(t, base1, token, "POST", "/v1/chats", map[string]any{"client_id": cl.ClientID}, &ch); st != 201 {
		t.Fatalf("chat: %d", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, err := dialStream(ctx, base2, token)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := subscribeAndSync(ctx, ws, ch.ChatID); err != nil {
		t.Fatal(err)
	}
	if st := call(t, base1, token, "POST", fmt.Sprintf("/v1/chats/%d/messages", ch.ChatID),
		map[string]any{"sender_type": "client", "content": "across the cluster"}, nil); st != 201 {
		t.Fatalf("post: %d", st)
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("no event on node 2: %v", err)
		}
		if bytes.Contains(b, []byte(`"content":"across the cluster"`)) {
			return
		}
	}
}
