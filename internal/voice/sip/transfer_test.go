package sip

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"context"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/bridge"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// TestBaresipBridgedTransfer is an external transfer bridged in Parley:
// two baresip instances, the callee (says "yes") and an operator's phone
// dialled through a trunk with DialTarget (says "no"), joined by package
// bridge. Each baresip hears the other's word (pocketsphinx with a
// two-word grammar on what baresip recorded), and the first call's
// recording holds both: the callee on its leg, the operator's phone on
// the agent leg.
func TestBaresipBridgedTransfer(t *testing.T) {
	ps := needPocketsphinx(t)
	calleePort, calleeHeard := startBaresipHeard(t, speechWAV(t, "yes", 2.5, 3))
	phonePort, phoneHeard := startBaresipHeard(t, speechWAV(t, "no", 2.5, 3))
	ctx := ctxT(t, 60*time.Second)
	callee, result, err := newTestTrunk(t, calleePort, nil).DialConn(ctx, dialer.CallRequest{CallUUID: "t1", MSISDN: BaresipUser})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial the callee: %q %v", result, err)
	}
	phone, result, err := newTestTrunk(t, phonePort, nil).DialTarget(ctx, BaresipUser, "t1-transfer")
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial the operator's phone: %q %v", result, err)
	}
	b := bridge.New(callee, phone)
	// Both WAVs last about 6 s: wait until that much of each went across
	// (a count of frames, not a time).
	for callee.RelayStats().Forwarded < 250 || phone.RelayStats().Forwarded < 250 {
		select {
		case <-ctx.Done():
			t.Fatalf("forwarded: callee %+v, phone %+v", callee.RelayStats(), phone.RelayStats())
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.Unbridge()
	rec, err := callee.Hangup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := phone.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("bridge %+v; callee relay %+v; phone relay %+v", b.Stats(), callee.RelayStats(), phone.RelayStats())

	recognize := func(what string, pcm []int16, rate int) string {
		t.Helper()
		p := audio.Resample(audio.PCM{Rate: rate, Samples: pcm}, audio.Rate)
		text, _, err := SpeechRecognizer{ps}.Recognize(ctx, p, []string{"yes", "no"})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return text
	}
	for _, c := range []struct {
		who, file, want string
	}{{"the callee", calleeHeard, "no"}, {"the operator's phone", phoneHeard, "yes"}} {
		rate, ch := heardWAV(t, ctx.Done(), c.file)
		if got := recognize(c.who, ch, rate); got != c.want {
			t.Errorf("%s heard %q, want %q", c.who, got, c.want)
		}
	}
	_, legs, err := audio.DecodeWAV(bytes.NewReader(rec))
	if err != nil || len(legs) != 2 {
		t.Fatalf("recording: %v", err)
	}
	if got := recognize("recording's agent leg", legs[0], audio.Rate); got != "no" {
		t.Errorf("recording's agent leg: %q, want the operator's phone's %q", got, "no")
	}
	if got := recognize("recording's callee leg", legs[1], audio.Rate); got != "yes" {
		t.Errorf("recording's callee leg: %q, want the callee's %q", got, "yes")
	}
}

// heardWAV reads what baresip heard in its call (voicetest.HeardWAV).
func heardWAV(t *testing.T, done <-chan struct{}, dir string) (int, []int16) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return voicetest.HeardWAV(t, ctx, dir)
}

// TestSippRefer: a blind transfer by REFER. sipp answers, accepts the
// REFER (202, after checking its Refer-To), reports the transfer call
// trying and then answered by NOTIFY (message/sipfrag), and gets the BYE
// Parley sends once the transfer succeeded. A second scenario reports
// the target busy: Refer returns a *ReferError with 486, and the call
// goes on until Parley hangs up. A REFER refused outright (603) is a
// *ReferError too.
func TestSippRefer(t *testing.T) {
	for _, c := range []struct {
		scenario, target string
		status           int
		notify           bool
	}{
		{"uas_refer.xml", "sip:4000@pbx.example.com", 0, false},
		{"uas_refer_busy.xml", "4000", 486, true},
		{"uas_refer_refused.xml", "4000", 603, false},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			uas := startSipp(t, c.scenario, 1)
			ctx := ctxT(t, 30*time.Second)
			conn, result, err := newTestTrunk(t, uas.port, nil).DialConn(ctx, dialer.CallRequest{MSISDN: "500"})
			if err != nil || result != dialer.ResultAnswered {
				t.Fatalf("dial: %q %v", result, err)
			}
			err = conn.Refer(ctx, c.target)
			var re *ReferError
			switch {
			case c.status == 0 && err != nil:
				t.Errorf("refer: %v", err)
			case c.status != 0 && (!errors.As(err, &re) || re.Status != c.status || re.Notify != c.notify):
				t.Errorf("refer: %v, want status %d (notify %v)", err, c.status, c.notify)
			}
			if _, err := conn.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			uas.wait(t)
		})
	}
}

// TestReferTarget: numbers go to the trunk's host, SIP URIs as given;
// anything else is refused before a REFER is sent.
func TestReferTarget(t *testing.T) {
	tr := newTestTrunk(t, 5070, nil)
	for in, want := range map[string]string{
		"+1 (555) 010-0200":        "sip:+15550100200@127.0.0.1:5070",
		"sip:desk@pbx.example.com": "sip:desk@pbx.example.com",
		"SIP:desk@10.0.0.9:5080":   "sip:desk@10.0.0.9:5080",
	} {
		u, err := tr.ParseTarget(in)
		if err != nil || u.String() != want {
			t.Errorf("%q: %v %v, want %s", in, u.String(), err, want)
		}
	}
	for _, bad := range []string{"", "desk", "sip:", "sip:a@b\r\nX: y", "http://example.com", "sip:<a@b>"} {
		if _, err := tr.ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
