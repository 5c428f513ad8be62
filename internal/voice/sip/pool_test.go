package sip_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/sip"
)

// TestPoolResolve: a company's trunk is built once with its secret and
// found by name for that company only; a name without a trunk resolves to
// nothing, so that the dialer falls back to the built-in trunks.
func TestPoolResolve(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a, b := env.NewTenant(t, "Acme"), env.NewTenant(t, "Beta")
		ctxA := parley.WithCaller(context.Background(), parley.Caller{CompanyID: a.CompanyID, CompanyUUID: a.CompanyUUID, Role: parley.RoleAdmin})
		if _, err := env.Trunks.Create(ctxA, trunk.NewTrunk{Name: "main", Host: "sip.example.net", Username: "alice", Password: "s3cret",
			CallerID: "+15550001", Codecs: "pcma"}); err != nil {
			t.Fatal(err)
		}
		pool := env.SIPTrunks
		got, err := pool.Resolve(context.Background(), a.CompanyID, "main")
		if err != nil {
			t.Fatal(err)
		}
		st, ok := got.(*sip.Trunk)
		if !ok || st.Host != "sip.example.net" || st.Password != "s3cret" || st.Username != "alice" || len(st.Codecs) != 1 {
			t.Errorf("resolved %+v", got)
		}
		again, _ := pool.Resolve(context.Background(), a.CompanyID, "main")
		if again != got {
			t.Error("unchanged trunk rebuilt")
		}
		for _, name := range []string{"sim", "nope\x00"} {
			if none, err := pool.Resolve(context.Background(), a.CompanyID, name); none != nil || err != nil {
				t.Errorf("name %q without a trunk: %v %v", name, none, err)
			}
		}
		if other, err := pool.Resolve(context.Background(), b.CompanyID, "main"); other != nil || err != nil {
			t.Errorf("another company's trunk: %v %v", other, err)
		}
	})
}

// TestTrunkCallSpeech: a company trunk's calls speak and listen with the
// calling agent's settings and unmasked keys; unusable settings fall back
// to the trunk's defaults.
func TestTrunkCallSpeech(t *testing.T) {
	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Manual: true})
	ten := env.NewTenant(t, "Acme")
	ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})
	if _, err := env.Trunks.Create(ctx, trunk.NewTrunk{Name: "main", Host: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	a, err := env.Agents.Create(ctx, agent.NewAgent{Name: "voice", TrunkName: "main"})
	if err != nil {
		t.Fatal(err)
	}
	tts, err := env.Agents.CreateCredential(ctx, a.UUID, agent.Credential{Name: "y", Platform: "yandex", KeyType: "tts", Value: "yandex-secret-key"})
	if err != nil {
		t.Fatal(err)
	}
	asr, err := env.Agents.CreateCredential(ctx, a.UUID, agent.Credential{Name: "g", Platform: "google", KeyType: "asr", Value: "google-secret-key"})
	if err != nil || strings.Contains(tts.Value+asr.Value, "secret") {
		t.Fatalf("credentials %v %v %v", tts, asr, err)
	}
	voice, asrSetting := "alena@yandex", asr.UUID
	if _, err := env.Agents.UpdateSettings(ctx, a.UUID, agent.SettingsUpdate{TTS: &voice, ASR: &asrSetting}); err != nil {
		t.Fatal(err)
	}
	got, err := env.SIPTrunks.Resolve(context.Background(), ten.CompanyID, "main")
	if err != nil {
		t.Fatal(err)
	}
	tr := got.(*sip.Trunk)
	if tr.Speech == nil {
		t.Fatal("trunk has no speech resolver")
	}
	sp, err := tr.Speech(context.Background(), dialer.CallRequest{AgentID: a.ID, CompanyID: ten.CompanyID})
	if err != nil {
		t.Fatal(err)
	}
	y, ok := audio.Uncached(sp.Synth).(*speech.YandexTTS)
	if !ok || y.APIKey != "yandex-secret-key" || sp.Voice != "alena" || !audio.Cached(sp.Synth) {
		t.Errorf("synth %#v voice %q", sp.Synth, sp.Voice)
	}
	r, ok := sp.Recognizer.(sip.SpeechRecognizer)
	if g, isG := r.Recognizer.(*speech.GoogleSTT); !ok || !isG || g.APIKey != "google-secret-key" {
		t.Errorf("recognizer %#v", sp.Recognizer)
	}

	// A platform without a key of the agent is an error (the trunk then
	// logs it and uses its defaults).
	voice = "x@google"
	if _, err := env.Agents.UpdateSettings(ctx, a.UUID, agent.SettingsUpdate{TTS: &voice}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Speech(context.Background(), dialer.CallRequest{AgentID: a.ID}); !errors.Is(err, speech.ErrNotConfigured) {
		t.Errorf("google tts without a key: %v", err)
	}
}
