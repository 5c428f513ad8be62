package speech

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/audio"
)

// Settings are the speech settings of one agent, as the agent package
// stores them.
type Settings struct {
	// Language is the agent's language tag ("ru-RU", "en-US"); "" leaves
	// each provider's default.
	Language string
	// TTS is "voice@platform" with platform espeak, google or yandex;
	// "" is espeak-ng's default voice.
	TTS string
	// ASR is "", "pocketsphinx", "google", "yandex", or the UUID of one of
	// Credentials with key type asr; "" is pocketsphinx.
	ASR string
	// Credentials are the agent's keys with their values in clear (not
	// the masked form the API returns).
	Credentials []Credential
}

// Credential is one key of an agent (agent.Credential's fields).
type Credential struct {
	UUID     string
	Platform string // "google" or "yandex"
	KeyType  string // "asr" or "tts"
	Value    string // the API key
}

// Registry builds the synthesizer and recognizer an agent's settings
// name, bound to the agent's keys. The zero value serves production: local
// engines on Debian's paths and the providers' real endpoints. It is safe
// for concurrent use; adapters are cheap and built per call.
type Registry struct {
	// Espeak is the local synthesizer; nil looks espeak-ng up on PATH
	// (audio.LookupEspeak) each time.
	Espeak Synthesizer
	// Pocketsphinx is the local recognizer; nil is one on Debian's paths.
	Pocketsphinx Recognizer
	// Client is the HTTP client of the cloud adapters; nil is one that
	// follows no redirects.
	Client *http.Client
	// Endpoints of the cloud APIs; "" is each provider's production URL.
	GoogleTTSURL, GoogleSTTURL, YandexTTSURL, YandexSTTURL string
	// Timeout bounds each cloud request; 0 is DefaultTimeout.
	Timeout time.Duration
	// Cache, if set, keeps synthesized prompts by engine, voice and text
	// (a cloud engine's entries by account too, so tenants share only the
	// local engine's).
	Cache *audio.TTSCache
}

// Voice is a synthesizer bound to the voice an agent speaks with.
type Voice struct {
	Synthesizer Synthesizer
	Name        string // the voice for Synthesizer; "" is its default
	Platform    string // "espeak", "google" or "yandex"
}

// Speak synthesizes text in the voice, at audio.Rate.
func (v Voice) Speak(ctx context.Context, text string) (audio.PCM, error) {
	return v.Synthesizer.Synthesize(ctx, text, v.Name)
}

// ParseVoice splits "voice@platform" at its last "@". A value with no "@"
// is taken as an espeak-ng voice.
func ParseVoice(s string) (name, platform string) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s, "espeak"
	}
	return s[:i], s[i+1:]
}

// Voice returns the synthesizer of s.TTS with the agent's TTS key. An
// unknown platform or a cloud platform without a tts key of the agent is
// an error wrapping ErrNotConfigured; espeak-ng missing wraps
// ErrUnavailable.
func (r *Registry) Voice(s Settings) (Voice, error) {
	name, platform := ParseVoice(s.TTS)
	switch platform {
	case "espeak", "":
		syn := r.Espeak
		if syn == nil {
			e, ok := audio.LookupEspeak()
			if !ok {
				return Voice{}, fmt.Errorf("%w: espeak-ng not found (Debian: apt-get install espeak-ng)", ErrUnavailable)
			}
			syn = e
		}
		return Voice{Synthesizer: r.Cache.Synthesizer("espeak", syn), Name: name, Platform: "espeak"}, nil
	case "google":
		key, err := s.key("google", "tts", "")
		if err != nil {
			return Voice{}, err
		}
		return Voice{Platform: platform, Name: name, Synthesizer: r.Cache.Synthesizer(cacheEngine(platform, s.Language, key), &GoogleTTS{
			APIKey: key, BaseURL: r.GoogleTTSURL, Language: s.Language, Client: r.Client, Timeout: r.Timeout,
		})}, nil
	case "yandex":
		key, err := s.key("yandex", "tts", "")
		if err != nil {
			return Voice{}, err
		}
		return Voice{Platform: platform, Name: name, Synthesizer: r.Cache.Synthesizer(cacheEngine(platform, s.Language, key), &YandexTTS{
			APIKey: key, BaseURL: r.YandexTTSURL, Language: s.Language, Client: r.Client, Timeout: r.Timeout,
		})}, nil
	}
	return Voice{}, fmt.Errorf("%w: TTS platform %q is not espeak, google or yandex", ErrNotConfigured, clip(platform, ""))
}

// Recognizer returns the recognizer of s.ASR with the agent's ASR key:
// pocketsphinx for "" and "pocketsphinx", the cloud platform of the named
// credential for a UUID, or the agent's first asr key of a named cloud
// platform.
func (r *Registry) Recognizer(s Settings) (Recognizer, error) {
	platform, credUUID := s.ASR, ""
	if _, err := uuid.Parse(s.ASR); err == nil && len(s.ASR) == 36 {
		c, ok := s.credential(s.ASR)
		if !ok || c.KeyType != "asr" {
			return nil, fmt.Errorf("%w: the agent has no ASR credential %s", ErrNotConfigured, s.ASR)
		}
		platform, credUUID = c.Platform, c.UUID
	}
	switch platform {
	case "", "pocketsphinx":
		if r.Pocketsphinx != nil {
			return r.Pocketsphinx, nil
		}
		return &Pocketsphinx{}, nil
	case "google":
		key, err := s.key("google", "asr", credUUID)
		if err != nil {
			return nil, err
		}
		return &GoogleSTT{APIKey: key, BaseURL: r.GoogleSTTURL, Language: s.Language, Client: r.Client, Timeout: r.Timeout}, nil
	case "yandex":
		key, err := s.key("yandex", "asr", credUUID)
		if err != nil {
			return nil, err
		}
		return &YandexSTT{APIKey: key, BaseURL: r.YandexSTTURL, Language: s.Language, Client: r.Client, Timeout: r.Timeout}, nil
	}
	return nil, fmt.Errorf("%w: ASR platform %q is not pocketsphinx, google or yandex", ErrNotConfigured, clip(platform, ""))
}

func (s Settings) credential(id string) (Credential, bool) {
	for _, c := range s.Credentials {
		if strings.EqualFold(c.UUID, id) {
			return c, true
		}
	}
	return Credential{}, false
}

// key returns the value of credential id, or with id "" of the agent's
// first key of platform and keyType.
func (s Settings) key(platform, keyType, id string) (string, error) {
	for _, c := range s.Credentials {
		if c.Platform == platform && c.KeyType == keyType && (id == "" || strings.EqualFold(c.UUID, id)) && c.Value != "" {
			if platform == "google" && strings.HasPrefix(strings.TrimSpace(c.Value), "{") {
				return "", fmt.Errorf("%w: credential %s holds a service-account JSON key; the google adapters take an API key", ErrNotConfigured, c.UUID)
			}
			return strings.TrimSpace(c.Value), nil
		}
	}
	return "", fmt.Errorf("%w: the agent has no %s key for %s", ErrNotConfigured, keyType, platform)
}

// cacheEngine names a cloud voice's cache entries: the platform, the
// language and a digest of the account's key (never the key itself).
func cacheEngine(platform, language, key string) string {
	d := sha256.Sum256([]byte(key))
	return platform + "|" + language + "|" + hex.EncodeToString(d[:8])
}
