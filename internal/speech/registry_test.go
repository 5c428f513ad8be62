package speech

import (
	"errors"
	"testing"

	"github.com/parley-cc/parley/internal/audio"
)

func TestRegistry(t *testing.T) {
	creds := []Credential{
		{UUID: "11111111-1111-4111-8111-111111111111", Platform: "google", KeyType: "tts", Value: "g-tts"},
		{UUID: "22222222-2222-4222-8222-222222222222", Platform: "google", KeyType: "asr", Value: "g-asr"},
		{UUID: "33333333-3333-4333-8333-333333333333", Platform: "yandex", KeyType: "asr", Value: "y-asr"},
		{UUID: "44444444-4444-4444-8444-444444444444", Platform: "yandex", KeyType: "tts", Value: "y-tts"},
	}
	r := &Registry{Espeak: audio.ToneSynth{}, GoogleTTSURL: "http://g", YandexSTTURL: "http://y", Timeout: 7}

	v, err := r.Voice(Settings{TTS: "en-US-Wavenet-D@google", Language: "en-US", Credentials: creds})
	if g, ok := v.Synthesizer.(*GoogleTTS); err != nil || !ok || g.APIKey != "g-tts" || g.BaseURL != "http://g" || v.Name != "en-US-Wavenet-D" || g.Timeout != 7 {
		t.Errorf("google voice: %+v %v", v, err)
	}
	v, err = r.Voice(Settings{TTS: "alena@yandex", Language: "ru-RU", Credentials: creds})
	if y, ok := v.Synthesizer.(*YandexTTS); err != nil || !ok || y.APIKey != "y-tts" || y.Language != "ru-RU" || v.Name != "alena" {
		t.Errorf("yandex voice: %+v %v", v, err)
	}
	for _, tts := range []string{"", "en-us@espeak", "en+f3"} {
		v, err = r.Voice(Settings{TTS: tts})
		if _, ok := v.Synthesizer.(audio.ToneSynth); err != nil || !ok || v.Platform != "espeak" {
			t.Errorf("%q: %+v %v", tts, v, err)
		}
	}
	if _, err := r.Voice(Settings{TTS: "x@google"}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("google without a key: %v", err)
	}
	if _, err := r.Voice(Settings{TTS: "x@azure", Credentials: creds}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("unknown platform: %v", err)
	}
	sa := []Credential{{Platform: "google", KeyType: "tts", Value: `{"type":"service_account"}`}}
	if _, err := r.Voice(Settings{TTS: "x@google", Credentials: sa}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("service-account JSON: %v", err)
	}

	for asr, want := range map[string]string{"": "pocketsphinx", "pocketsphinx": "pocketsphinx", "google": "g-asr", "yandex": "y-asr",
		"33333333-3333-4333-8333-333333333333": "y-asr", "22222222-2222-4222-8222-222222222222": "g-asr"} {
		rec, err := r.Recognizer(Settings{ASR: asr, Language: "en-US", Credentials: creds})
		if err != nil {
			t.Fatalf("%q: %v", asr, err)
		}
		var got string
		switch x := rec.(type) {
		case *Pocketsphinx:
			got = "pocketsphinx"
		case *GoogleSTT:
			got = x.APIKey
		case *YandexSTT:
			got = x.APIKey
			if x.BaseURL != "http://y" || x.Language != "en-US" {
				t.Errorf("yandex stt %+v", x)
			}
		}
		if got != want {
			t.Errorf("ASR %q: got %s, want %s", asr, got, want)
		}
	}
	// A TTS credential's UUID is no ASR key; an unknown UUID neither.
	for _, asr := range []string{"11111111-1111-4111-8111-111111111111", "99999999-9999-4999-8999-999999999999", "watson"} {
		if _, err := r.Recognizer(Settings{ASR: asr, Credentials: creds}); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%q: %v", asr, err)
		}
	}
	if _, err := r.Recognizer(Settings{ASR: "google"}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("google without key: %v", err)
	}
}

func TestParseVoice(t *testing.T) {
	for in, want := range map[string][2]string{
		"alena@yandex": {"alena", "yandex"}, "a@b@google": {"a@b", "google"}, "en": {"en", "espeak"}, "": {"", "espeak"},
	} {
		if n, p := ParseVoice(in); n != want[0] || p != want[1] {
			t.Errorf("%q: %q %q", in, n, p)
		}
	}
}
