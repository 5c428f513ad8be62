package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
)

// frame is any server frame.
type frame struct {
	Type    string          `json:"type"`
	ChatID  int64           `json:"chat_id"`
	Seq     int64           `json:"seq"`
	Event   string          `json:"event"`
	Data    map[string]any  `json:"data"`
	At      string          `json:"at"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Reason  string          `json:"reason"`
	ChatIDs []int64         `json:"chat_ids"`
	All     bool            `json:"all"`
	ID      json.RawMessage `json:"id"`
	raw     string
}

func (f frame) String() string { return f.raw }

// wsClient is a test's WebSocket client: a goroutine reads every frame
// into a channel until the connection ends.
type wsClient struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan frame
	closed chan error // the read error that ended the connection
}

func streamURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/v1/stream" }

// dial connects with the token in the Authorization header, or in the
// query when query is true.
func dial(t *testing.T, base, token string, query bool) *wsClient {
	t.Helper()
	ws, res, err := tryDial(base, token, query)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial stream: %v (status %d)", err, status)
	}
	return start(t, ws, true)
}

func tryDial(base, token string, query bool) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := streamURL(base)
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if query {
		u += "?access_token=" + url.QueryEscape(token)
	} else if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	return websocket.Dial(ctx, u, opts)
}

// start runs the client's reader; with read false the test reads nothing
// until it calls startReading (a client that does not keep up).
func start(t *testing.T, ws *websocket.Conn, read bool) *wsClient {
	c := &wsClient{t: t, ws: ws, frames: make(chan frame, 100000), closed: make(chan error, 1)}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	if read {
		c.startReading()
	}
	return c
}

func (c *wsClient) startReading() {
	go func() {
		for {
			_, b, err := c.ws.Read(context.Background())
			if err != nil {
				c.closed <- err
				close(c.frames)
				return
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				c.t.Errorf("server frame is not JSON: %q", b)
			}
			f.raw = string(b)
			c.frames <- f
		}
	}()
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("send %s: %v", b, err)
	}
}

// next returns the next frame, failing the test after a while.
func (c *wsClient) next() frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection ended: %v", <-c.closed)
		}
		return f
	case <-time.After(10 * time.Second):
		c.t.Fatal("no frame within 10s")
	}
	return frame{}
}

// expect returns the next frame, which must be of type typ.
func (c *wsClient) expect(typ string) frame {
	c.t.Helper()
	f := c.next()
	if f.Type != typ {
		c.t.Fatalf("got frame %s, want type %q", f, typ)
	}
	return f
}

// quiet checks that no frame comes for d.
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if ok {
			c.t.Fatalf("unexpected frame %s", f)
		}
	case <-time.After(d):
	}
}

// ping sends a ping and waits for the pong: every frame queued before it
// has arrived by then.
func (c *wsClient) ping() []frame {
	c.t.Helper()
	c.send(map[string]any{"type": "ping", "id": "p"})
	var before []frame
	for {
		f := c.next()
		if f.Type == "pong" {
			return before
		}
		before = append(before, f)
	}
}

// subscribe subscribes to one chat; after < 0 means from now. It returns
// the frames up to and including "synced".
func (c *wsClient) subscribe(chatID, after int64) []frame {
	c.t.Helper()
	req := map[string]any{"chat_id": chatID}
	if after >= 0 {
		req["after"] = after
	}
	c.send(map[string]any{"type": "subscribe", "chats": []any{req}})
	if f := c.expect("subscribed"); len(f.ChatIDs) != 1 || f.ChatIDs[0] != chatID {
		c.t.Fatalf("subscribed %s", f)
	}
	var got []frame
	for {
		f := c.next()
		got = append(got, f)
		if f.Type == "synced" && f.ChatID == chatID {
			return got
		}
	}
}

// ---- tenants and chats over HTTP ----

func mustStatus(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// newChat creates a client and a queued chat of the tenant.
func newChat(t *testing.T, env *testenv.Env, token string) int64 {
	t.Helper()
	var c struct {
		ClientID int64 `json:"client_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/clients", token, map[string]any{"name": "Client"}), 201).JSON(t, &c)
	var ch struct {
		ChatID int64 `json:"chat_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/chats", token, map[string]any{"client_id": c.ClientID}), 201).JSON(t, &ch)
	return ch.ChatID
}

// post posts a message as the client, or as the operator with an
// operator's token (the v1 API lets operators post only as themselves).
func post(t *testing.T, env *testenv.Env, token string, chatID int64, content string) {
	t.Helper()
	body := map[string]any{"content": content}
	if r := env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", chatID), token,
		map[string]any{"sender_type": "client", "content": content}); r.Status == 403 {
		mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", chatID), token, body), 201)
	} else {
		mustStatus(t, r, 201)
	}
}

// adminCtx acts for the tenant's company in direct service calls.
func adminCtx(tn *testenv.Tenant) context.Context {
	return parley.WithCaller(context.Background(), parley.Caller{CompanyID: tn.CompanyID, CompanyUUID: tn.CompanyUUID, Role: parley.RoleAdmin})
}

func eventSeqs(fs []frame) []int64 {
	var out []int64
	for _, f := range fs {
		if f.Type == "event" {
			out = append(out, f.Seq)
		}
	}
	return out
}

func streamToken(t *testing.T, env *testenv.Env, token string, chatID int64) string {
	t.Helper()
	var out struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
		ChatID    int64  `json:"chat_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/stream/tokens", token, map[string]any{"chat_id": chatID}), 200).JSON(t, &out)
	if out.Token == "" || out.ChatID != chatID {
		t.Fatalf("stream token answer %+v", out)
	}
	exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
	if err != nil || exp.Before(time.Now().Add(50*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("expires_at %q: want about an hour from now", out.ExpiresAt)
	}
	return out.Token
}
