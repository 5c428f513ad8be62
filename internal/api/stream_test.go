package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley/internal/testenv"
)

// stream is a WebSocket client of GET /v1/stream.
type stream struct {
	ws     *websocket.Conn
	frames chan streamFrame
}

type streamFrame struct {
	Type   string         `json:"type"`
	Code   string         `json:"code"`
	ChatID int64          `json:"chat_id"`
	Seq    int64          `json:"seq"`
	All    bool           `json:"all"`
	Event  string         `json:"event"`
	Data   map[string]any `json:"data"`
}

// dialStream connects with a token (staff, operator or end user).
func dialStream(t *testing.T, env *testenv.Env, token string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.URL(), "http")+"/v1/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial stream: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	s := &stream{ws: ws, frames: make(chan streamFrame, 1000)}
	go func() {
		defer close(s.frames)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var f streamFrame
			_ = json.Unmarshal(b, &f)
			s.frames <- f
		}
	}()
	return s
}

func (s *stream) send(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func (s *stream) next(t *testing.T) streamFrame {
	t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			t.Fatal("stream closed")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return streamFrame{}
}

// nextEvent skips to the next event frame.
func (s *stream) nextEvent(t *testing.T) streamFrame {
	t.Helper()
	for {
		if f := s.next(t); f.Type == "event" {
			return f
		}
	}
}

// subscribe subscribes to one chat from now and returns the chat's seq then.
func (s *stream) subscribe(t *testing.T, chatID int64) int64 {
	t.Helper()
	s.send(t, map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatID}}})
	for {
		f := s.next(t)
		switch f.Type {
		case "error":
			t.Fatalf("subscribe to chat %d: %+v", chatID, f)
		case "synced":
			if f.ChatID == chatID {
				return f.Seq
			}
		}
	}
}
