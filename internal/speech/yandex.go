package speech

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

// Production endpoints of Yandex SpeechKit's API v1.
const (
	YandexTTSURL = "https://tts.api.cloud.yandex.net"
	YandexSTTURL = "https://stt.api.cloud.yandex.net"
)

// Limits Yandex documents for API v1.
const (
	yandexMaxTTSChars     = 5000    // text of tts:synthesize
	yandexMaxAudioSeconds = 30      // stt:recognize: at most 30 s ...
	yandexMaxAudioBytes   = 1 << 20 // ... and 1 MB
)

// yandexVoice admits SpeechKit voice names (alena, filipp, jane, john...).
var yandexVoice = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// yandexAuth is the Authorization header for an API key (a service
// account's, which needs no folder) or an IAM token.
type yandexAuth struct {
	APIKey   string // "Authorization: Api-Key <key>"
	IAMToken string // "Authorization: Bearer <token>", used when APIKey is empty
	FolderID string // required with a user account's IAM token, else empty
}

func (a yandexAuth) header() (value, secret string) {
	if a.APIKey != "" {
		return "Api-Key " + a.APIKey, a.APIKey
	}
	if a.IAMToken != "" {
		return "Bearer " + a.IAMToken, a.IAMToken
	}
	return "", ""
}

// YandexTTS synthesizes speech with Yandex SpeechKit API v1
// (tts:synthesize), asking for lpcm (raw 16-bit little-endian) at 8 kHz.
type YandexTTS struct {
	APIKey   string
	IAMToken string
	FolderID string
	BaseURL  string // "" is YandexTTSURL
	Language string // ru-RU, en-US, kk-KK, ...; "" is ru-RU, Yandex's default
	Client   *http.Client
	Timeout  time.Duration // per request; 0 is DefaultTimeout
}

// Synthesize speaks text with voice ("" is Yandex's default voice for the
// language) and returns audio at audio.Rate. Blank text gives empty audio
// without a request.
func (y *YandexTTS) Synthesize(ctx context.Context, text, voice string) (audio.PCM, error) {
	if err := checkText(text); err != nil {
		return audio.PCM{}, err
	}
	if n := len([]rune(text)); n > yandexMaxTTSChars {
		return audio.PCM{}, fmt.Errorf("%w: text is %d characters, Yandex takes at most %d", ErrBadRequest, n, yandexMaxTTSChars)
	}
	if voice != "" && !yandexVoice.MatchString(voice) {
		return audio.PCM{}, fmt.Errorf("%w: %q is not a Yandex voice name", ErrBadRequest, clip(voice, ""))
	}
	if strings.TrimSpace(text) == "" {
		return audio.PCM{Rate: audio.Rate}, nil
	}
	auth, secret := yandexAuth{y.APIKey, y.IAMToken, y.FolderID}.header()
	if auth == "" {
		return audio.PCM{}, fmt.Errorf("%w: yandex-tts: no API key", ErrAuth)
	}
	form := url.Values{}
	form.Set("text", text)
	form.Set("lang", orDefault(y.Language, "ru-RU"))
	if voice != "" {
		form.Set("voice", voice)
	}
	form.Set("format", "lpcm")
	form.Set("sampleRateHertz", strconv.Itoa(audio.Rate))
	if y.FolderID != "" {
		form.Set("folderId", y.FolderID)
	}
	req, err := http.NewRequest(http.MethodPost, base(y.BaseURL, YandexTTSURL)+"/speech/v1/tts:synthesize", strings.NewReader(form.Encode()))
	if err != nil {
		return audio.PCM{}, fmt.Errorf("%w: yandex-tts: bad endpoint URL", ErrNotConfigured)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)

	ctx, cancel := withTimeout(ctx, y.Timeout)
	defer cancel()
	raw, err := roundTrip(ctx, y.Client, req, "yandex-tts", secret, maxTTSResponse, decodeYandexError)
	if err != nil {
		return audio.PCM{}, err
	}
	// Yandex answers 200 with the audio itself; a JSON body here would be
	// a gateway's or proxy's, not speech.
	if t := bytes.TrimSpace(raw[:min(len(raw), 16)]); len(t) > 0 && t[0] == '{' && json.Valid(raw) {
		return audio.PCM{}, fmt.Errorf("%w: yandex-tts: a JSON body instead of audio", ErrBadResponse)
	}
	pcm, err := decodeLinear16(raw, audio.Rate)
	if err != nil {
		return audio.PCM{}, fmt.Errorf("%w: yandex-tts: %v", ErrBadResponse, err)
	}
	return pcm, nil
}

// YandexSTT recognizes short utterances with Yandex SpeechKit API v1
// (stt:recognize, synchronous: at most 30 s and 1 MB of audio), sending
// lpcm at 8 kHz. API v1 takes no phrase hints, so expect is not sent; the
// caller matches the transcript against its phrases.
type YandexSTT struct {
	APIKey   string
	IAMToken string
	FolderID string
	BaseURL  string // "" is YandexSTTURL
	Language string // "" is ru-RU
	Topic    string // language model; "" is general
	Client   *http.Client
	Timeout  time.Duration // per request; 0 is DefaultTimeout
}

// Recognize sends pcm and returns Yandex's transcript, with no confidence
// (API v1 reports none).
func (y *YandexSTT) Recognize(ctx context.Context, pcm audio.PCM, expect []string) (Result, error) {
	pcm, err := toRate(pcm, audio.Rate, yandexMaxAudioSeconds)
	if err != nil {
		return Result{}, err
	}
	body := pcmBytes(pcm.Samples)
	if len(body) > yandexMaxAudioBytes {
		return Result{}, fmt.Errorf("%w: audio is %d bytes, Yandex takes at most %d", ErrBadRequest, len(body), yandexMaxAudioBytes)
	}
	auth, secret := yandexAuth{y.APIKey, y.IAMToken, y.FolderID}.header()
	if auth == "" {
		return Result{}, fmt.Errorf("%w: yandex-stt: no API key", ErrAuth)
	}
	q := url.Values{}
	q.Set("topic", orDefault(y.Topic, "general"))
	q.Set("lang", orDefault(y.Language, "ru-RU"))
	q.Set("format", "lpcm")
	q.Set("sampleRateHertz", strconv.Itoa(audio.Rate))
	if y.FolderID != "" {
		q.Set("folderId", y.FolderID)
	}
	req, err := http.NewRequest(http.MethodPost, base(y.BaseURL, YandexSTTURL)+"/speech/v1/stt:recognize?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("%w: yandex-stt: bad endpoint URL", ErrNotConfigured)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", auth)

	ctx, cancel := withTimeout(ctx, y.Timeout)
	defer cancel()
	raw, err := roundTrip(ctx, y.Client, req, "yandex-stt", secret, maxSTTResponse, decodeYandexError)
	if err != nil {
		return Result{}, err
	}
	var out struct {
		Result *string `json:"result"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Result == nil {
		return Result{}, fmt.Errorf("%w: yandex-stt: no result in the response", ErrBadResponse)
	}
	return Result{Text: strings.TrimSpace(*out.Result)}, nil
}

// decodeYandexError reads SpeechKit v1's error body,
// {"error_code": "BAD_REQUEST", "error_message": "..."}. The codes say what
// the status says, except that a few name the kind outright.
func decodeYandexError(status int, body []byte) (string, string, error) {
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"error_message"`
	}
	if json.Unmarshal(body, &e) != nil || (e.Code == "" && e.Message == "") {
		return "", http.StatusText(status), nil
	}
	var kind error
	switch e.Code {
	case "UNAUTHORIZED", "UNAUTHENTICATED", "PERMISSION_DENIED", "FORBIDDEN":
		kind = ErrAuth
	case "RESOURCE_EXHAUSTED", "TOO_MANY_REQUESTS", "UNAVAILABLE", "INTERNAL_SERVER_ERROR", "INTERNAL":
		kind = ErrRetryable
	}
	return e.Code, e.Message, kind
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
