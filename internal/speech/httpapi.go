package speech

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds one provider request when the adapter sets none
// and ctx has no earlier deadline.
const DefaultTimeout = 30 * time.Second

// Response-size bounds. A provider's answer is read into memory, so each is
// capped: a misbehaving or hostile endpoint can't exhaust it.
const (
	// maxTTSResponse holds audio.MaxText characters of speech as 16-bit
	// audio with room to spare (2000 characters ≈ 3 minutes ≈ 2.9 MB at
	// 8 kHz; base64 adds a third). Google may answer at a higher rate than
	// asked, so leave room for 24 kHz.
	maxTTSResponse = 24 << 20
	// maxSTTResponse bounds a transcript response: a few alternatives of
	// at most a minute of speech are a few kilobytes.
	maxSTTResponse = 1 << 20
)

// defaultClient is the client adapters use unless given one. It never
// follows redirects: a redirect would carry the key header (Go forwards
// custom headers such as X-Goog-Api-Key to any host) somewhere the
// provider's documentation doesn't name.
var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// errorDecoder reads a provider's error body: its code and message, and
// the error kind when the body says more than the status (Google's
// API_KEY_INVALID comes as 400). A nil kind means "by status".
type errorDecoder func(status int, body []byte) (code, message string, kind error)

// roundTrip sends req and returns the body of a 200 answer, at most max
// bytes. Any other status becomes an *APIError decoded by decodeErr.
// Transport failures are ErrRetryable, without the request URL in the
// message; an expired or cancelled ctx is returned as ctx.Err(), wrapped.
func roundTrip(ctx context.Context, client *http.Client, req *http.Request, provider, secret string, max int64, decodeErr errorDecoder) ([]byte, error) {
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("speech: %s: %w", provider, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is ours and dull; keep the cause
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrRetryable, provider, clip(err.Error(), secret))
	}
	defer resp.Body.Close()
	limit := max
	if resp.StatusCode != http.StatusOK {
		limit = 64 << 10 // an error body worth reading is short
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("speech: %s: %w", provider, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s: reading the response: %s", ErrRetryable, provider, clip(err.Error(), secret))
	}
	if resp.StatusCode != http.StatusOK {
		if int64(len(body)) > limit {
			body = body[:limit]
		}
		code, msg, kind := decodeErr(resp.StatusCode, body)
		if kind == nil {
			kind = kindOfStatus(resp.StatusCode)
		}
		return nil, &APIError{Provider: provider, Status: resp.StatusCode, Code: clip(code, secret), Message: clip(msg, secret), Kind: kind}
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: %s: response over %d bytes", ErrBadResponse, provider, max)
	}
	return body, nil
}

// withTimeout bounds ctx by d (DefaultTimeout when d is 0) unless it
// already ends sooner.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}
