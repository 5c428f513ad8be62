package handover_test

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

// streamFrames connects to the staff stream with tok, subscribes to calls
// and returns the frames it reads.
func streamFrames(t *testing.T, env *testenv.Env, tok string) <-chan map[string]any {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url := "ws" + strings.TrimPrefix(env.URL(), "http") + "/v1/stream"
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","calls":true}`)); err != nil {
		t.Fatal(err)
	}
	out := make(chan map[string]any, 100)
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				close(out)
				return
			}
			var f map[string]any
			if json.Unmarshal(b, &f) == nil {
				select {
				case out <- f:
				default:
				}
			}
		}
	}()
	// The subscription is in once the stream acknowledges it: frames of
	// changes after that are the test's to see.
	for end := time.After(10 * time.Second); ; {
		select {
		case f, ok := <-out:
			if !ok {
				t.Fatal("the stream closed before acknowledging the subscription")
			}
			if f["type"] == "subscribed" {
				return out
			}
		case <-end:
			t.Fatal("the stream did not acknowledge the calls subscription")
		}
	}
}

// nextTransferFrame waits for a call_transfer frame whose transfer has
// state (and operator_id op, unless 0).
func nextTransferFrame(t *testing.T, frames <-chan map[string]any, state string, op int64) map[string]any {
	t.Helper()
	end := time.After(20 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("the stream closed before a %s transfer", state)
			}
			if f["type"] != "call_transfer" {
				continue
			}
			tr := f["transfer"].(map[string]any)
			if tr["state"] == state && (op == 0 || tr["operator_id"] == float64(op)) {
				return tr
			}
		case <-end:
			t.Fatalf("no call_transfer frame with state %s", state)
		}
	}
}

// TestStreamCallTransfers: after {"type":"subscribe","calls":true} the
// operator gets the offer (ringing for them) and the supervisor every
// change; an operator of another company gets nothing.
func TestStreamCallTransfers(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 30, 60, 1)
		op := online(t, env, ten.OperatorToken)
		other := env.NewTenant(t, "Other")
		online(t, env, other.OperatorToken)
		opFrames := streamFrames(t, env, op.Token)
		staffFrames := streamFrames(t, env, ten.Token)
		strangerFrames := streamFrames(t, env, other.OperatorToken)
		call(t, env, ten, "79990001122", 60)
		tr := nextTransferFrame(t, opFrames, "ringing", op.ID)
		if tr["phone"] != "79990001122" {
			t.Errorf("offer frame: %v", tr)
		}
		// The frame of the transfer's start reads the row when the hub
		// sends it: by then it may ring already (the offer follows at
		// once), so "waiting" is not waited for.
		nextTransferFrame(t, staffFrames, "ringing", op.ID)
		acceptAndHangUp(t, env, op, int64(tr["id"].(float64)))
		nextTransferFrame(t, opFrames, "talking", op.ID)
		nextTransferFrame(t, opFrames, "ended", op.ID)
		for {
			select {
			case f, ok := <-strangerFrames:
				if ok && f["type"] == "call_transfer" {
					t.Fatalf("another company's operator got %v", f)
				}
				continue
			case <-time.After(300 * time.Millisecond):
			}
			break
		}
	})
}
