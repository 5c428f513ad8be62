package speech

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

// Production endpoints of Google Cloud's REST APIs.
const (
	GoogleTTSURL = "https://texttospeech.googleapis.com"
	GoogleSTTURL = "https://speech.googleapis.com"
)

// Limits Google documents for the v1 synchronous methods, enforced here so
// a script gets a clear error instead of a 400.
const (
	googleMaxAudioSeconds = 60   // speech:recognize takes at most one minute
	googleMaxPhrases      = 500  // far under the per-request phrase quota
	googleMaxPhraseLen    = 100  // characters per phrase
	googleMaxTTSBytes     = 5000 // input.text bytes of text:synthesize
)

// googleVoice admits Google voice names ("en-US-Wavenet-D",
// "en-US-Chirp3-HD-Achernar"); they go into JSON, but a name outside this
// set is a settings mistake better reported here.
var googleVoice = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// googleVoiceLang takes the language code off the front of a voice name:
// "en-US" of "en-US-Wavenet-D", "cmn-CN" of "cmn-CN-Standard-A".
var googleVoiceLang = regexp.MustCompile(`^([a-z]{2,3}-[A-Za-z]{2,4})-`)

// GoogleTTS synthesizes speech with Google Cloud Text-to-Speech v1
// (text:synthesize), asking for LINEAR16 at 8 kHz so nothing needs
// resampling. The key goes in the X-Goog-Api-Key header, never the URL,
// so it can't surface in a logged URL or a transport error.
type GoogleTTS struct {
	APIKey   string
	BaseURL  string // "" is GoogleTTSURL; tests point it at a fake server
	Language string // used when the voice name carries no language; "" is en-US
	Client   *http.Client
	Timeout  time.Duration // per request; 0 is DefaultTimeout
}

type googleTTSRequest struct {
	Input struct {
		Text string `json:"text"`
	} `json:"input"`
	Voice struct {
		LanguageCode string `json:"languageCode"`
		Name         string `json:"name,omitempty"`
	} `json:"voice"`
	AudioConfig struct {
		AudioEncoding   string `json:"audioEncoding"`
		SampleRateHertz int    `json:"sampleRateHertz"`
	} `json:"audioConfig"`
}

// Synthesize speaks text with voice ("" lets Google pick one for the
// language) and returns audio at audio.Rate. Blank text gives empty audio
// without a request.
func (g *GoogleTTS) Synthesize(ctx context.Context, text, voice string) (audio.PCM, error) {
	if err := checkText(text); err != nil {
		return audio.PCM{}, err
	}
	if len(text) > googleMaxTTSBytes {
		return audio.PCM{}, fmt.Errorf("%w: text is %d bytes, Google takes at most %d", ErrBadRequest, len(text), googleMaxTTSBytes)
	}
	if voice != "" && !googleVoice.MatchString(voice) {
		return audio.PCM{}, fmt.Errorf("%w: %q is not a Google voice name", ErrBadRequest, clip(voice, ""))
	}
	if strings.TrimSpace(text) == "" {
		return audio.PCM{Rate: audio.Rate}, nil
	}
	if g.APIKey == "" {
		return audio.PCM{}, fmt.Errorf("%w: google-tts: no API key", ErrAuth)
	}
	var body googleTTSRequest
	body.Input.Text = text
	body.Voice.Name = voice
	body.Voice.LanguageCode = googleLanguage(voice, g.Language)
	body.AudioConfig.AudioEncoding = "LINEAR16"
	body.AudioConfig.SampleRateHertz = audio.Rate

	ctx, cancel := withTimeout(ctx, g.Timeout)
	defer cancel()
	raw, err := googlePost(ctx, g.Client, base(g.BaseURL, GoogleTTSURL)+"/v1/text:synthesize", g.APIKey, "google-tts", body, maxTTSResponse)
	if err != nil {
		return audio.PCM{}, err
	}
	var out struct {
		AudioContent *string `json:"audioContent"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.AudioContent == nil {
		return audio.PCM{}, fmt.Errorf("%w: google-tts: no audioContent in the response", ErrBadResponse)
	}
	data, err := base64.StdEncoding.DecodeString(*out.AudioContent)
	if err != nil {
		return audio.PCM{}, fmt.Errorf("%w: google-tts: audioContent is not base64", ErrBadResponse)
	}
	pcm, err := decodeLinear16(data, audio.Rate)
	if err != nil {
		return audio.PCM{}, fmt.Errorf("%w: google-tts: %v", ErrBadResponse, err)
	}
	return pcm, nil
}

// decodeLinear16 reads LINEAR16 audio as Google returns it (a WAV file) or
// raw little-endian samples at rate (what Yandex's lpcm is), and returns
// it at audio.Rate.
func decodeLinear16(data []byte, rate int) (audio.PCM, error) {
	if len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WAVE" {
		r, channels, err := audio.DecodeWAV(bytes.NewReader(data))
		if err != nil {
			return audio.PCM{}, err
		}
		if len(channels) != 1 {
			return audio.PCM{}, fmt.Errorf("audio has %d channels, want 1", len(channels))
		}
		p := audio.PCM{Rate: r, Samples: channels[0]}
		if r != audio.Rate {
			p = audio.Resample(p, audio.Rate)
		}
		return p, nil
	}
	if len(data)%2 != 0 {
		return audio.PCM{}, fmt.Errorf("raw audio of %d bytes is not whole 16-bit samples", len(data))
	}
	s := make([]int16, len(data)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	p := audio.PCM{Rate: rate, Samples: s}
	if rate != audio.Rate {
		p = audio.Resample(p, audio.Rate)
	}
	return p, nil
}

// GoogleSTT recognizes speech with Google Cloud Speech-to-Text v1
// (speech:recognize, synchronous: at most a minute of audio). It sends
// LINEAR16 at 8 kHz and the expected phrases as a speech context, which
// biases recognition towards them without restricting it.
type GoogleSTT struct {
	APIKey   string
	BaseURL  string // "" is GoogleSTTURL
	Language string // BCP-47 languageCode; "" is en-US
	// Model is the recognition model ("phone_call", "telephony", ...);
	// "" lets Google choose by language.
	Model           string
	MaxAlternatives int // 0 asks for 3
	Client          *http.Client
	Timeout         time.Duration // per request; 0 is DefaultTimeout
}

type googleSTTRequest struct {
	Config struct {
		Encoding        string `json:"encoding"`
		SampleRateHertz int    `json:"sampleRateHertz"`
		LanguageCode    string `json:"languageCode"`
		MaxAlternatives int    `json:"maxAlternatives,omitempty"`
		Model           string `json:"model,omitempty"`
		SpeechContexts  []struct {
			Phrases []string `json:"phrases"`
		} `json:"speechContexts,omitempty"`
	} `json:"config"`
	Audio struct {
		Content string `json:"content"`
	} `json:"audio"`
}

type googleSTTResponse struct {
	Results []struct {
		Alternatives []struct {
			Transcript string  `json:"transcript"`
			Confidence float64 `json:"confidence"`
		} `json:"alternatives"`
	} `json:"results"`
}

// Recognize sends pcm (resampled to 8 kHz if needed) and returns Google's
// transcript. Several results, for successive stretches of the audio, are
// joined; alternatives are reported when there was one stretch. An empty
// response is an empty Result.
func (g *GoogleSTT) Recognize(ctx context.Context, pcm audio.PCM, expect []string) (Result, error) {
	pcm, err := toRate(pcm, audio.Rate, googleMaxAudioSeconds)
	if err != nil {
		return Result{}, err
	}
	if g.APIKey == "" {
		return Result{}, fmt.Errorf("%w: google-stt: no API key", ErrAuth)
	}
	var body googleSTTRequest
	c := &body.Config
	c.Encoding, c.SampleRateHertz = "LINEAR16", audio.Rate
	c.LanguageCode = g.Language
	if c.LanguageCode == "" {
		c.LanguageCode = "en-US"
	}
	c.MaxAlternatives = g.MaxAlternatives
	if c.MaxAlternatives <= 0 {
		c.MaxAlternatives = 3
	}
	c.Model = g.Model
	if phrases := hintPhrases(expect, googleMaxPhrases, googleMaxPhraseLen); len(phrases) > 0 {
		c.SpeechContexts = []struct {
			Phrases []string `json:"phrases"`
		}{{Phrases: phrases}}
	}
	body.Audio.Content = base64.StdEncoding.EncodeToString(pcmBytes(pcm.Samples))

	ctx, cancel := withTimeout(ctx, g.Timeout)
	defer cancel()
	raw, err := googlePost(ctx, g.Client, base(g.BaseURL, GoogleSTTURL)+"/v1/speech:recognize", g.APIKey, "google-stt", body, maxSTTResponse)
	if err != nil {
		return Result{}, err
	}
	var out googleSTTResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return Result{}, fmt.Errorf("%w: google-stt: response is not the documented JSON", ErrBadResponse)
	}
	var res Result
	var texts []string
	var confSum float64
	var confN int
	for _, r := range out.Results {
		if len(r.Alternatives) == 0 {
			continue
		}
		if t := strings.TrimSpace(r.Alternatives[0].Transcript); t != "" {
			texts = append(texts, t)
		}
		if c := r.Alternatives[0].Confidence; c > 0 {
			confSum += c
			confN++
		}
	}
	res.Text = strings.Join(texts, " ")
	if confN > 0 {
		res.Confidence = confSum / float64(confN)
	}
	if len(out.Results) == 1 {
		for _, a := range out.Results[0].Alternatives[min(1, len(out.Results[0].Alternatives)):] {
			if t := strings.TrimSpace(a.Transcript); t != "" {
				res.Alternatives = append(res.Alternatives, Alternative{Text: t, Confidence: a.Confidence})
			}
		}
	}
	return res, nil
}

// googlePost posts body as JSON with the key header and returns the 200
// body.
func googlePost(ctx context.Context, client *http.Client, url, key, provider string, body any, max int64) ([]byte, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(js))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: bad endpoint URL", ErrNotConfigured, provider)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Goog-Api-Key", key)
	return roundTrip(ctx, client, req, provider, key, max, decodeGoogleError)
}

// decodeGoogleError reads Google's error body,
// {"error": {"code", "message", "status", "details": [...]}}. An invalid
// API key comes as 400 INVALID_ARGUMENT with an ErrorInfo reason
// API_KEY_INVALID: that is an authentication failure, not a bad request.
func decodeGoogleError(status int, body []byte) (string, string, error) {
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || (e.Error.Status == "" && e.Error.Message == "") {
		return "", http.StatusText(status), nil
	}
	var kind error
	switch e.Error.Status {
	case "UNAUTHENTICATED", "PERMISSION_DENIED":
		kind = ErrAuth
	case "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL":
		kind = ErrRetryable
	}
	for _, d := range e.Error.Details {
		switch d.Reason {
		case "API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED", "SERVICE_DISABLED":
			kind = ErrAuth
		}
	}
	return e.Error.Status, e.Error.Message, kind
}

// googleLanguage is the languageCode for a voice: the one its name starts
// with, else lang, else en-US.
func googleLanguage(voice, lang string) string {
	if m := googleVoiceLang.FindStringSubmatch(voice); m != nil {
		return m[1]
	}
	if lang != "" {
		return lang
	}
	return "en-US"
}

// hintPhrases cleans expected phrases into recognition hints: trimmed,
// blank and duplicate ones dropped, each at most maxLen characters, at
// most n of them.
func hintPhrases(expect []string, n, maxLen int) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range expect {
		p = strings.Join(strings.Fields(p), " ")
		if r := []rune(p); len(r) > maxLen {
			p = string(r[:maxLen])
		}
		if p == "" || seen[strings.ToLower(p)] {
			continue
		}
		seen[strings.ToLower(p)] = true
		out = append(out, p)
		if len(out) == n {
			break
		}
	}
	return out
}

// pcmBytes is s as little-endian 16-bit samples: LINEAR16, lpcm.
func pcmBytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func base(u, def string) string {
	if u == "" {
		u = def
	}
	return strings.TrimRight(u, "/")
}
