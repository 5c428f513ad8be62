package realtime_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley/internal/realtime"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestEndUserConnectionCap: one chat's end-user tokens hold at most
// MaxEndUserConns connections at once (429 before the upgrade beyond
// that); closing one frees its slot. Staff are not capped this way.
func TestEndUserConnectionCap(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Cap")
	chatID := newChat(t, env, tn.Token)
	tok := streamToken(t, env, tn.Token, chatID)
	var open []*websocket.Conn
	for range realtime.MaxEndUserConns {
		ws, _, err := tryDial(env.URL(), tok, true)
		if err != nil {
			t.Fatalf("connection %d: %v", len(open)+1, err)
		}
		open = append(open, ws)
	}
	_, res, err := tryDial(env.URL(), tok, true)
	if err == nil || res == nil || res.StatusCode != 429 {
		t.Fatalf("connection over the cap: %v (response %v)", err, res)
	}
	_ = open[0].Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, _, err := tryDial(env.URL(), tok, true)
		if err == nil {
			_ = ws.Close(websocket.StatusNormalClosure, "")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed connection's slot never came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, ws := range open[1:] {
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}
	// Staff connections are not counted against the chat.
	ws, _, err := tryDial(env.URL(), tn.Token, true)
	if err != nil {
		t.Fatalf("staff connection: %v", err)
	}
	_ = ws.CloseNow()
}

// TestUserConnectionCap: one staff or operator user holds at most
// realtime.DefaultMaxUserConns stream connections at once (429 with
// too_many_connections before the upgrade beyond that), whatever the
// token; another user is not affected; closing one frees its slot.
func TestUserConnectionCap(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Cap")
		second, _ := env.Login(t, tn.Login, tn.Password) // another token of the same user
		for _, user := range []struct{ name, token, other string }{{"api user", tn.Token, second}, {"operator", tn.OperatorToken, tn.OperatorToken}} {
			var open []*websocket.Conn
			for range realtime.DefaultMaxUserConns {
				ws, _, err := tryDial(env.URL(), user.token, false)
				if err != nil {
					t.Fatalf("%s, connection %d: %v", user.name, len(open)+1, err)
				}
				open = append(open, ws)
			}
			_, res, err := tryDial(env.URL(), user.other, false)
			if err == nil || res == nil || res.StatusCode != 429 {
				t.Fatalf("%s, connection over the cap: %v (response %v)", user.name, err, res)
			}
			_ = open[0].Close(websocket.StatusNormalClosure, "")
			deadline := time.Now().Add(10 * time.Second)
			for {
				ws, _, err := tryDial(env.URL(), user.token, false)
				if err == nil {
					open[0] = ws
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the closed connection's slot never came back: %v", user.name, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The api user's connections stay open while the operator, another
			// user, connects up to their own cap.
			if user.name == "operator" {
				for _, ws := range open {
					_ = ws.Close(websocket.StatusNormalClosure, "")
				}
			}
		}
	})
}
