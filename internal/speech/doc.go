// Package speech gives a call its voice and its ears: text-to-speech and
// speech recognition, local by default and through Google Cloud or Yandex
// SpeechKit when the agent's settings and keys say so.
//
// # Interfaces
//
// Synthesizer is audio.Synthesizer (text and a voice name in, 8 kHz mono
// PCM out), so audio.Espeak serves unchanged as the local default.
// Recognizer takes one utterance of 8 kHz telephone audio and the phrases
// the script expects, and returns a Result. Hearing nothing is an empty
// Result, not an error; errors are failures, classified for errors.Is as
// ErrAuth (fix the key), ErrBadRequest (fix the request), ErrRetryable
// (try later), ErrBadResponse (the provider broke its contract),
// ErrUnavailable (a local engine is not installed) and ErrNotConfigured
// (the settings name nothing usable). A provider's refusal is an *APIError
// holding its status, code and message.
//
// # Choosing an engine
//
// Registry turns an agent's settings into engines: TTS "voice@platform"
// (espeak, google, yandex), ASR "pocketsphinx", "google", "yandex" or the
// UUID of one of the agent's ASR credentials, each cloud adapter bound to
// the agent's key of that platform and type.
//
// # Local recognition: pocketsphinx
//
// Debian ships pocketsphinx 0.8 (5prealpha) with a US English model
// (packages pocketsphinx and pocketsphinx-en-us). Each utterance runs
// pocketsphinx_batch once, in a temporary directory, on a 16 kHz WAV
// upsampled from the call's 8 kHz (the model's rate). The batch decoder
// is used rather than pocketsphinx_continuous because it decodes the
// whole utterance as one, where continuous mode's voice-activity detector
// splits "one two three" at its pauses and then matches no grammar rule.
//
// With expected phrases the decoder gets a JSGF grammar of exactly those
// phrases: on short answers this is what makes a small local model
// usable (espeak-ng's "yes" is heard as "yes" with the grammar, "yeah"
// without). Words are lower-cased and split at punctuation; if any word
// is missing from the dictionary (digits, names, other languages) the
// full language model is used instead, which can still hear the rest.
// A grammar always returns one of its phrases for any sound, so two
// guards keep silence from being "heard": audio with no frame above about
// -55 dBFS is answered empty without decoding, and the decoder dithers
// its input (digital silence otherwise decodes as a phrase). pocketsphinx
// gives no confidence for a batch hypothesis: Confidence is 0, meaning
// "not reported", as in Google's API.
//
// # Cloud adapters
//
// Each speaks the provider's documented REST API v1 with net/http and
// encoding/json, no client library: Google Cloud Text-to-Speech
// (text:synthesize, LINEAR16 at 8 kHz, which Google wraps in a WAV
// header), Google Speech-to-Text (speech:recognize, LINEAR16 8 kHz, the
// expected phrases as a speechContext), Yandex SpeechKit tts:synthesize
// (form-encoded, lpcm 8 kHz, raw samples back) and stt:recognize (raw
// lpcm body, {"result"} back; v1 takes no hints). Every request is bounded
// by ctx and the adapter's Timeout, every response body by a size cap.
//
// Keys never reach a URL, a log or an error: Google's goes in the
// X-Goog-Api-Key header (not ?key=, which a transport error would print
// with the URL), Yandex's in "Authorization: Api-Key"; a provider message
// that echoes the key has it blanked; the default HTTP client follows no
// redirect, since Go forwards custom headers such as X-Goog-Api-Key to
// whatever host a redirect names. Google reports an invalid key as 400
// INVALID_ARGUMENT with reason API_KEY_INVALID; that is classified as
// ErrAuth, not as a bad request.
package speech
