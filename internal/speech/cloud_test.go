package speech

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

const testKey = "AIzaSecretKey-0123456789"

// tone is 0.5 s of a 440 Hz-ish square wave at 8 kHz.
func tone() audio.PCM {
	p := audio.PCM{Rate: audio.Rate, Samples: make([]int16, 4000)}
	for i := range p.Samples {
		if (i/9)%2 == 0 {
			p.Samples[i] = 3000
		} else {
			p.Samples[i] = -3000
		}
	}
	return p
}

func wavBytes(t *testing.T, p audio.PCM) []byte {
	var b bytes.Buffer
	if err := audio.EncodeWAV(&b, [][]int16{p.Samples}, p.Rate); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// googleErr writes Google's documented error body.
func googleErr(w http.ResponseWriter, code int, status, msg string, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	details := "[]"
	if reason != "" {
		details = fmt.Sprintf(`[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":%q,"domain":"googleapis.com","metadata":{"service":"texttospeech.googleapis.com"}}]`, reason)
	}
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q,"details":%s}}`, code, msg, status, details)
}

// yandexErr writes SpeechKit v1's documented error body.
func yandexErr(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error_code":%q,"error_message":%q}`, errCode, msg)
}

// errorCases are each provider's documented failures and the kind each
// must map to.
type errorCase struct {
	status  int
	code    string
	reason  string
	message string
	kind    error
}

var googleErrors = []errorCase{
	{400, "INVALID_ARGUMENT", "API_KEY_INVALID", "API key not valid. Please pass a valid API key.", ErrAuth},
	{400, "INVALID_ARGUMENT", "", "Voice 'xx-XX-Nope' does not exist.", ErrBadRequest},
	{401, "UNAUTHENTICATED", "", "Request is missing required authentication credential.", ErrAuth},
	{403, "PERMISSION_DENIED", "SERVICE_DISABLED", "Cloud Text-to-Speech API has not been used in project 1 before or it is disabled.", ErrAuth},
	{429, "RESOURCE_EXHAUSTED", "", "Quota exceeded.", ErrRetryable},
	{500, "INTERNAL", "", "Internal error encountered.", ErrRetryable},
	{503, "UNAVAILABLE", "", "The service is currently unavailable.", ErrRetryable},
}

var yandexErrors = []errorCase{
	{400, "BAD_REQUEST", "", "Invalid voice", ErrBadRequest},
	{401, "UNAUTHORIZED", "", "The token is invalid", ErrAuth},
	{403, "PERMISSION_DENIED", "", "Permission denied", ErrAuth},
	{429, "TOO_MANY_REQUESTS", "", "Too many requests", ErrRetryable},
	{500, "INTERNAL_SERVER_ERROR", "", "Internal error", ErrRetryable},
}

func checkAPIError(t *testing.T, err error, c errorCase) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%d %s: got %v, want an *APIError", c.status, c.code, err)
	}
	if !errors.Is(err, c.kind) || ae.Status != c.status || ae.Code != c.code || ae.Message != c.message {
		t.Errorf("%d %s: got %+v (%v), want kind %v", c.status, c.code, ae, err, c.kind)
	}
	if Retryable(err) != (c.kind == ErrRetryable) {
		t.Errorf("%d %s: Retryable = %v", c.status, c.code, Retryable(err))
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("the key leaked into %q", err)
	}
}

func TestGoogleTTS(t *testing.T) {
	speech := tone()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/text:synthesize" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if r.Header.Get("X-Goog-Api-Key") != testKey || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("headers %v", r.Header)
		}
		var req struct {
			Input       map[string]string `json:"input"`
			Voice       map[string]string `json:"voice"`
			AudioConfig map[string]any    `json:"audioConfig"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Error(err)
		}
		if req.Input["text"] != "Hello there" || req.Voice["name"] != "en-GB-Wavenet-B" || req.Voice["languageCode"] != "en-GB" ||
			req.AudioConfig["audioEncoding"] != "LINEAR16" || req.AudioConfig["sampleRateHertz"] != float64(8000) {
			t.Errorf("body %+v", req)
		}
		// Google's LINEAR16 comes with a WAV header; answer at 16 kHz to
		// check resampling to the call's 8 kHz.
		fmt.Fprintf(w, `{"audioContent":%q}`, base64.StdEncoding.EncodeToString(wavBytes(t, audio.Resample(speech, 16000))))
	}))
	defer srv.Close()
	g := &GoogleTTS{APIKey: testKey, BaseURL: srv.URL, Language: "ru-RU"}
	pcm, err := g.Synthesize(context.Background(), "Hello there", "en-GB-Wavenet-B")
	if err != nil {
		t.Fatal(err)
	}
	if pcm.Rate != audio.Rate || len(pcm.Samples) < len(speech.Samples)-2 || len(pcm.Samples) > len(speech.Samples)+2 {
		t.Errorf("got %d samples at %d Hz, want about %d at 8000", len(pcm.Samples), pcm.Rate, len(speech.Samples))
	}
	// Blank text: no request at all.
	if pcm, err := (&GoogleTTS{BaseURL: "http://127.0.0.1:1"}).Synthesize(context.Background(), "  ", ""); err != nil || len(pcm.Samples) != 0 {
		t.Errorf("blank text: %v", err)
	}
}

func TestGoogleTTSLanguageFallback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req googleTTSRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Voice.LanguageCode != "ru-RU" || req.Voice.Name != "" {
			t.Errorf("voice %+v", req.Voice)
		}
		// Raw samples without a header are taken as 8 kHz LINEAR16.
		fmt.Fprintf(w, `{"audioContent":%q}`, base64.StdEncoding.EncodeToString(pcmBytes([]int16{1, 2, 3})))
	}))
	defer srv.Close()
	pcm, err := (&GoogleTTS{APIKey: testKey, BaseURL: srv.URL, Language: "ru-RU"}).Synthesize(context.Background(), "привет", "")
	if err != nil || len(pcm.Samples) != 3 {
		t.Fatalf("%v %v", pcm, err)
	}
}

func TestGoogleErrors(t *testing.T) {
	for _, c := range googleErrors {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			googleErr(w, c.status, c.code, c.message, c.reason)
		}))
		_, err := (&GoogleTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "hi", "")
		checkAPIError(t, err, c)
		_, err = (&GoogleSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil)
		checkAPIError(t, err, c)
		srv.Close()
	}
}

func TestGoogleSTT(t *testing.T) {
	in := tone()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/speech:recognize" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if r.Header.Get("X-Goog-Api-Key") != testKey {
			t.Errorf("key header %q", r.Header.Get("X-Goog-Api-Key"))
		}
		var req googleSTTRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Error(err)
		}
		c := req.Config
		if c.Encoding != "LINEAR16" || c.SampleRateHertz != 8000 || c.LanguageCode != "en-US" || c.MaxAlternatives != 3 ||
			len(c.SpeechContexts) != 1 || strings.Join(c.SpeechContexts[0].Phrases, "|") != "yes|no|call me later" {
			t.Errorf("config %+v", c)
		}
		raw, _ := base64.StdEncoding.DecodeString(req.Audio.Content)
		if !bytes.Equal(raw, pcmBytes(in.Samples)) {
			t.Errorf("audio of %d bytes, want the %d samples as LINEAR16", len(raw), len(in.Samples))
		}
		io.WriteString(w, `{"results":[{"alternatives":[{"transcript":"yes","confidence":0.92},{"transcript":"yeah"}],"resultEndTime":"0.500s","languageCode":"en-us"}],"totalBilledTime":"1s","requestId":"1"}`)
	}))
	defer srv.Close()
	g := &GoogleSTT{APIKey: testKey, BaseURL: srv.URL + "/"}
	res, err := g.Recognize(context.Background(), in, []string{"yes", " no", "YES", "", "call  me later"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "yes" || res.Confidence != 0.92 || len(res.Alternatives) != 1 || res.Alternatives[0].Text != "yeah" {
		t.Errorf("got %+v", res)
	}
}

func TestGoogleSTTShapes(t *testing.T) {
	for body, want := range map[string]Result{
		`{}`:                                {}, // nothing heard: no results at all
		`{"results":[]}`:                    {},
		`{"results":[{"alternatives":[]}]}`: {},
		`{"results":[{"alternatives":[{"transcript":"call me","confidence":0.8}]},{"alternatives":[{"transcript":" later","confidence":0.6}]}]}`: {Text: "call me later", Confidence: 0.7},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		res, err := (&GoogleSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil)
		srv.Close()
		if err != nil || res.Text != want.Text || fmt.Sprintf("%.3f", res.Confidence) != fmt.Sprintf("%.3f", want.Confidence) || len(res.Alternatives) != 0 {
			t.Errorf("%s: got %+v %v, want %+v", body, res, err, want)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `<html>`) }))
	defer srv.Close()
	if _, err := (&GoogleSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil); !errors.Is(err, ErrBadResponse) {
		t.Errorf("HTML answer: %v", err)
	}
	if _, err := (&GoogleSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), audio.Silence(8000, 61*time.Second), nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("61 s: %v", err)
	}
	if _, err := (&GoogleSTT{BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil); !errors.Is(err, ErrAuth) {
		t.Errorf("no key: %v", err)
	}
}

func TestYandexTTS(t *testing.T) {
	speech := tone()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/speech/v1/tts:synthesize" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if r.Header.Get("Authorization") != "Api-Key "+testKey || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("headers %v", r.Header)
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		want := url.Values{"text": {"Привет, мир"}, "lang": {"ru-RU"}, "voice": {"alena"}, "format": {"lpcm"}, "sampleRateHertz": {"8000"}}
		if r.PostForm.Encode() != want.Encode() {
			t.Errorf("form %v, want %v", r.PostForm, want)
		}
		w.Header().Set("Content-Type", "audio/x-pcm")
		w.Write(pcmBytes(speech.Samples)) // lpcm: raw samples, no header
	}))
	defer srv.Close()
	pcm, err := (&YandexTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "Привет, мир", "alena")
	if err != nil {
		t.Fatal(err)
	}
	if pcm.Rate != audio.Rate || len(pcm.Samples) != len(speech.Samples) || pcm.Samples[0] != speech.Samples[0] {
		t.Errorf("got %d samples at %d", len(pcm.Samples), pcm.Rate)
	}
	if _, err := (&YandexTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "hi", "../etc"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad voice: %v", err)
	}
}

func TestYandexSTT(t *testing.T) {
	in := tone()
	exact := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodPost || r.URL.Path != "/speech/v1/stt:recognize" ||
			q.Get("lang") != "en-US" || q.Get("format") != "lpcm" || q.Get("sampleRateHertz") != "8000" || q.Get("topic") != "general" || q.Get("folderId") != "b1gfolder" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if r.Header.Get("Authorization") != "Api-Key "+testKey {
			t.Errorf("auth %q", r.Header.Get("Authorization"))
		}
		body, _ := io.ReadAll(r.Body)
		if exact && !bytes.Equal(body, pcmBytes(in.Samples)) || len(body) != 2*len(in.Samples) {
			t.Errorf("body of %d bytes", len(body))
		}
		io.WriteString(w, `{"result":"yes"}`)
	}))
	defer srv.Close()
	y := &YandexSTT{APIKey: testKey, BaseURL: srv.URL, Language: "en-US", FolderID: "b1gfolder"}
	res, err := y.Recognize(context.Background(), in, []string{"yes"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "yes" || res.Confidence != 0 {
		t.Errorf("got %+v", res)
	}
	exact = false // 16 kHz audio arrives resampled to 8 kHz
	if _, err := y.Recognize(context.Background(), audio.Resample(in, 16000), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := y.Recognize(context.Background(), audio.Silence(8000, 31*time.Second), nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("31 s: %v", err)
	}
}

func TestYandexShapesAndErrors(t *testing.T) {
	for body, want := range map[string]string{`{"result":""}`: "", `{"result":" hello "}`: "hello"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		res, err := (&YandexSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil)
		srv.Close()
		if err != nil || res.Text != want {
			t.Errorf("%s: %+v %v", body, res, err)
		}
	}
	for _, c := range yandexErrors {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			yandexErr(w, c.status, c.code, c.message)
		}))
		_, err := (&YandexTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "hi", "alena")
		checkAPIError(t, err, c)
		_, err = (&YandexSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil)
		checkAPIError(t, err, c)
		srv.Close()
	}
	// A non-JSON error body (a proxy's) still classifies by status.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer srv.Close()
	if _, err := (&YandexSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil); !errors.Is(err, ErrRetryable) {
		t.Errorf("502: %v", err)
	}
}

func TestTimeoutsAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	adapters := map[string]func(ctx context.Context, timeout time.Duration) error{
		"google-tts": func(ctx context.Context, d time.Duration) error {
			_, err := (&GoogleTTS{APIKey: testKey, BaseURL: srv.URL, Timeout: d}).Synthesize(ctx, "hi", "")
			return err
		},
		"google-stt": func(ctx context.Context, d time.Duration) error {
			_, err := (&GoogleSTT{APIKey: testKey, BaseURL: srv.URL, Timeout: d}).Recognize(ctx, tone(), nil)
			return err
		},
		"yandex-tts": func(ctx context.Context, d time.Duration) error {
			_, err := (&YandexTTS{APIKey: testKey, BaseURL: srv.URL, Timeout: d}).Synthesize(ctx, "hi", "")
			return err
		},
		"yandex-stt": func(ctx context.Context, d time.Duration) error {
			_, err := (&YandexSTT{APIKey: testKey, BaseURL: srv.URL, Timeout: d}).Recognize(ctx, tone(), nil)
			return err
		},
	}
	for name, call := range adapters {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := call(ctx, 0)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("%s, ctx deadline: %v after %v", name, err, time.Since(start))
		}
		if err := call(context.Background(), 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s, adapter timeout: %v", name, err)
		}
	}
}

func TestOversizedResponses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An endless body: the client must stop reading at its cap.
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		if strings.Contains(r.URL.Path, "stt") || strings.Contains(r.URL.Path, "speech:") {
			io.WriteString(w, `{"result":"`)
		}
		for i := 0; i < 1<<12; i++ { // up to 256 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	if _, err := (&YandexTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "hi", ""); !errors.Is(err, ErrBadResponse) {
		t.Errorf("yandex-tts: %v", err)
	}
	if _, err := (&YandexSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil); !errors.Is(err, ErrBadResponse) {
		t.Errorf("yandex-stt: %v", err)
	}
	if _, err := (&GoogleSTT{APIKey: testKey, BaseURL: srv.URL}).Recognize(context.Background(), tone(), nil); !errors.Is(err, ErrBadResponse) {
		t.Errorf("google-stt: %v", err)
	}
	if _, err := (&GoogleTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "hi", ""); !errors.Is(err, ErrBadResponse) {
		t.Errorf("google-tts: %v", err)
	}
}

func TestKeyNeverLeaks(t *testing.T) {
	// A provider echoing the key in its message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		googleErr(w, 400, "INVALID_ARGUMENT", "API key "+testKey+" not valid.", "API_KEY_INVALID")
	}))
	defer srv.Close()
	_, err := (&GoogleTTS{APIKey: testKey, BaseURL: srv.URL}).Synthesize(context.Background(), "hi", "")
	if err == nil || strings.Contains(err.Error(), testKey) || !errors.Is(err, ErrAuth) {
		t.Errorf("got %v", err)
	}
	// A refused connection: the error names no URL with a key in it.
	_, err = (&GoogleTTS{APIKey: testKey, BaseURL: "http://127.0.0.1:1"}).Synthesize(context.Background(), "hi", "")
	if !errors.Is(err, ErrRetryable) || strings.Contains(err.Error(), testKey) {
		t.Errorf("unreachable: %v", err)
	}
	// A redirect is not followed, so the key header goes nowhere else.
	var hit bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer other.Close()
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	_, err = (&GoogleTTS{APIKey: testKey, BaseURL: redir.URL}).Synthesize(context.Background(), "hi", "")
	if err == nil || hit {
		t.Errorf("redirect followed: %v, hit %v", err, hit)
	}
}

func TestDecodeLinear16(t *testing.T) {
	if _, err := decodeLinear16([]byte{1, 2, 3}, 8000); err == nil {
		t.Error("odd byte count accepted")
	}
	b := make([]byte, 4)
	binary.LittleEndian.PutUint16(b, uint16(0xFFFF))
	p, err := decodeLinear16(b, 8000)
	if err != nil || p.Samples[0] != -1 {
		t.Errorf("%v %v", p, err)
	}
}
