package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley/internal/testenv"
)

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

// dialStream opens the realtime stream (GET /v1/stream) with a token.
func dialStream(ctx context.Context, base, token string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	return ws, nil
}

// subscribeAndSync subscribes to a chat from now and waits for "synced".
func subscribeAndSync(ctx context.Context, ws *websocket.Conn, chatID int64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	msg, _ := json.Marshal(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatID}}})
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(`"type":"synced"`)) {
			return nil
		}
		if bytes.Contains(b, []byte(`"type":"error"`)) {
			return fmt.Errorf("subscribe to chat %d: %s", chatID, b)
		}
	}
}
