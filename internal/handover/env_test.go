package handover_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/handover"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/sip"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

const ext = "/api/v2/ext"

// The script of the tests' agent: after one exchange it hands the call
// over; when nobody takes it, it says so and sets "busy".
const transferScript = `def main(s):
    s.say("Hello, this is your bank.")
    s.listen(timeout=1)
    if s.transfer("wants a person"):
        return
    s.set("busy", "yes")
    s.say("Everyone is busy, we will call you back.")
`

func must(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// start runs a server whose WebRTC engine gathers loopback only (the
// in-process browser's own candidates), and a tenant with the script.
func start(t *testing.T, dsn string) (*testenv.Env, *testenv.Tenant) {
	env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
		c.WebRTC = webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
		c.SimPace = 0.05
		c.WebhookAllowPrivate = true
		c.WebhookBackoff = 5 * time.Millisecond
	}})
	select {
	case <-env.WebhookDispatcher.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the webhook dispatcher never subscribed to the bus")
	}
	env.Handover.Poll = 50 * time.Millisecond
	ten := env.NewTenant(t, "Acme")
	q := "?agent_uuid=" + ten.AgentUUID
	must(t, env.Do(t, "POST", ext+"/output-entity/bulk"+q, ten.Token, map[string]any{"entities": []any{map[string]any{"name": "busy"}}}), 200)
	must(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "main", "source": transferScript}), 200)
	return env, ten
}

// settings sets the agent's transfer settings and routing_channel_limit.
func settings(t *testing.T, env *testenv.Env, ten *testenv.Tenant, ring, wait, limit int) {
	q := "?agent_uuid=" + ten.AgentUUID
	must(t, env.Do(t, "PUT", ext+"/agent-settings/transfer"+q, ten.Token, map[string]any{"ring_timeout_seconds": ring,
		"transfer_timeout_seconds": wait, "hold_prompt": "Please hold."}), 200)
	must(t, env.Do(t, "PUT", ext+"/agent-settings/general"+q, ten.Token, map[string]any{"routing_channel_limit": limit}), 200)
}

// call uploads a dialog for the sim trunk; hold is sim_hold (seconds).
func call(t *testing.T, env *testenv.Env, ten *testenv.Tenant, msisdn string, hold int) string {
	var out struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	must(t, env.Do(t, "POST", ext+"/dialog/dialog-initial?agent_uuid="+ten.AgentUUID, ten.Token, map[string]any{
		"msisdn": msisdn, "sim_say": `["I want a person"]`, "sim_hold": fmt.Sprint(hold)}), 200).JSON(t, &out)
	return out.DialogUUID
}

// operator is an operator user with a token and their operator id.
type operator struct {
	Token string
	ID    int64
}

// newOperator makes an operator user of the tenant's company and sets it
// online.
func newOperator(t *testing.T, env *testenv.Env, ten *testenv.Tenant, login string) operator {
	ctx := context.Background()
	if _, err := env.Users.CreateUser(ctx, ten.CompanyID, login, ten.Password, parley.RoleOperator); err != nil {
		t.Fatal(err)
	}
	tok, _ := env.Login(t, login, ten.Password)
	return online(t, env, tok)
}

func online(t *testing.T, env *testenv.Env, tok string) operator {
	var me struct {
		OperatorID int64 `json:"operator_id"`
	}
	must(t, env.Do(t, "GET", "/v1/operators/me", tok, nil), 200).JSON(t, &me)
	must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), tok, map[string]any{"status": "online"}), 200)
	return operator{Token: tok, ID: me.OperatorID}
}

type transfer struct {
	ID           int64             `json:"id"`
	CallID       int64             `json:"call_id"`
	State        string            `json:"state"`
	Result       string            `json:"result"`
	OperatorID   *int64            `json:"operator_id"`
	OperatorName *string           `json:"operator_name"`
	Phone        string            `json:"phone"`
	WaitSeconds  float64           `json:"wait_seconds"`
	TalkSeconds  float64           `json:"talk_seconds"`
	Initial      map[string]string `json:"initial_entities"`
	Transcript   []struct {
		Who, Text string
	} `json:"transcript"`
}

// transfers lists what tok sees.
func transfers(t *testing.T, env *testenv.Env, tok, state string) []transfer {
	var out struct {
		Items []transfer `json:"items"`
	}
	must(t, env.Do(t, "GET", "/v1/call-transfers?state="+state, tok, nil), 200).JSON(t, &out)
	return out.Items
}

// waitFor polls until cond holds (or fails the test after d).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ringing waits for a transfer ringing for op and returns it.
func ringing(t *testing.T, env *testenv.Env, op operator) transfer {
	t.Helper()
	var got transfer
	waitFor(t, 20*time.Second, "an offer", func() bool {
		for _, tr := range transfers(t, env, op.Token, "live") {
			if tr.State == "ringing" && tr.OperatorID != nil && *tr.OperatorID == op.ID {
				got = tr
				return true
			}
		}
		return false
	})
	return got
}

// stats waits for the dialog's statistics row.
func stats(t *testing.T, env *testenv.Env, ten *testenv.Tenant, dialog string) map[string]any {
	t.Helper()
	var rows []map[string]any
	waitFor(t, 30*time.Second, "the dialog's statistics", func() bool {
		r := env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+dialog, ten.Token, nil)
		if r.Status != 200 {
			return false
		}
		r.JSON(t, &rows)
		return len(rows) == 1
	})
	return rows[0]
}

// browser is the operator's in-process WebRTC peer: it sends a tone and
// keeps what it hears.
type browser struct {
	*voicetest.Browser
	mu    sync.Mutex
	heard voicetest.Heard
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newBrowser(t *testing.T) (*browser, string) { return newPeer(t, false) }

// newListener is a receive-only browser (a supervisor).
func newListener(t *testing.T) (*browser, string) { return newPeer(t, true) }

func newPeer(t *testing.T, listen bool) (*browser, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, offer, err := voicetest.NewBrowser(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	br := &browser{Browser: b, stop: make(chan struct{})}
	b.OnPacket(func(pkt *pionrtp.Packet, _ time.Time) {
		if pkt.PayloadType == 0 {
			br.mu.Lock()
			br.heard.Add(pkt.Payload, g711.ULaw)
			br.mu.Unlock()
		}
	})
	t.Cleanup(func() { br.Close() })
	return br, offer
}

// talk sends a tone of hz every 20 ms until Close.
func (b *browser) talk(hz float64) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		tone := &voicetest.Tone{Hz: hz, Law: g711.ULaw}
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-tk.C:
				_ = b.Send(tone.Frame())
			}
		}
	}()
}

func (b *browser) Close() {
	select {
	case <-b.stop:
		return
	default:
	}
	close(b.stop)
	b.wg.Wait()
	_ = b.Browser.Close()
}

// rms is the loudness of what the browser heard since mark.
func (b *browser) rms(mark int) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return voicetest.RMS(b.heard.Since(mark))
}

func (b *browser) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.heard.Mark()
}

// recording downloads a call's WAV: the left channel is what the callee
// heard (agent, hold audio, operator), the right the callee.
func recording(t *testing.T, env *testenv.Env, ten *testenv.Tenant, callUUID string) (left, right []int16) {
	var out struct {
		Data string `json:"data"`
	}
	must(t, env.Do(t, "GET", ext+"/statistic/download/call?call_uuid="+callUUID, ten.Token, nil), 200).JSON(t, &out)
	wav, err := base64.StdEncoding.DecodeString(out.Data)
	if err != nil {
		t.Fatal(err)
	}
	_, ch, err := audio.DecodeWAV(bytes.NewReader(wav))
	if err != nil || len(ch) != 2 {
		t.Fatalf("recording: %v, %d channels", err, len(ch))
	}
	return ch[0], ch[1]
}

// bestTone is the largest Goertzel share of hz over 100 ms windows.
func bestTone(s []int16, hz float64) float64 {
	best := 0.0
	for i := 0; i+800 <= len(s); i += 400 {
		best = max(best, voicetest.Goertzel(s[i:i+800], hz))
	}
	return best
}

func voicetestRMS(s []int16) float64 { return voicetest.RMS(s) }

// A SIP call reaches external parties over its trunk.
var _ handover.ExternalLine = (*sip.Conn)(nil)
