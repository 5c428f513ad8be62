package media

import (
	"crypto/hmac"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/parley-cc/parley"
)

// The local store checks the signed requests it gave out (upload forms and
// download URLs) here; their HTTP side is internal/api/localmedia's.

// Upload is a browser upload whose form passed every check: where the file
// goes and how large it must be.
type Upload struct {
	Key              string
	ContentType      string
	MinSize, MaxSize int64
}

// CheckPost checks an upload form's fields (names in lower case): the
// signature before anything else, so that nothing of an unsigned policy is
// even parsed, then the expiry, every condition (as on S3, every field
// must be named by one), the key and the content type.
func (l *Local) CheckPost(fields map[string]string) (*Upload, error) {
	policy, sig := fields["policy"], fields["x-amz-signature"]
	if policy == "" || sig == "" {
		return nil, parley.Errorf(parley.EFORBIDDEN, "The form needs the policy and x-amz-signature fields.")
	}
	got, err := hex.DecodeString(sig)
	want, _ := hex.DecodeString(l.signPolicy(policy))
	if err != nil || !hmac.Equal(got, want) {
		return nil, parley.Errorf(parley.EFORBIDDEN, "The policy's signature does not match.")
	}
	p, err := parsePolicy(policy)
	if err != nil {
		return nil, err
	}
	if !l.Now().Before(p.expiration) {
		return nil, parley.Errorf(parley.EFORBIDDEN, "Invalid according to policy: policy expired.")
	}
	if !p.hasRange {
		return nil, parley.Errorf(parley.EFORBIDDEN, "The policy has no content-length-range.")
	}
	if err := p.check(fields); err != nil {
		return nil, err
	}
	key := fields["key"]
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	ct, err := checkContentType(fields["content-type"])
	if err != nil {
		return nil, err
	}
	return &Upload{Key: key, ContentType: ct, MinSize: p.minSize, MaxSize: p.maxSize}, nil
}

// Receive streams an upload's file into place within its size range and
// returns its size and MD5 (the ETag S3 would give). A file out of range
// leaves nothing behind.
func (l *Local) Receive(u *Upload, file io.Reader) (n int64, etag string, err error) {
	return l.write(u.Key, u.ContentType, file, u.MaxSize, func(n int64) error {
		if n < u.MinSize {
			return parley.Errorf(parley.EINVALID, "The file is smaller than the policy's %d bytes.", u.MinSize)
		}
		return nil
	})
}

// FileURL is the unsigned location of an object, as S3 names it in the
// answer to an upload.
func (l *Local) FileURL(key string) (string, error) {
	base, err := l.base()
	if err != nil {
		return "", err
	}
	return base + filesPath + key, nil
}

// CheckURL checks a download URL's signature (hex) and expiry (unix
// seconds) for key, and returns how long the URL has left.
func (l *Local) CheckURL(key, expires, signature string) (time.Duration, error) {
	exp, err := strconv.ParseInt(expires, 10, 64)
	sig, serr := hex.DecodeString(signature)
	if err != nil || serr != nil || !hmac.Equal(sig, l.signURL(key, exp)) {
		return 0, parley.Errorf(parley.EFORBIDDEN, "The URL's signature does not match.")
	}
	left := time.Unix(exp, 0).Sub(l.Now())
	if left <= 0 {
		return 0, parley.Errorf(parley.EFORBIDDEN, "The URL has expired.")
	}
	return left, nil
}

// OpenFile is Open with the file itself, which can seek and be served
// with ranges.
func (l *Local) OpenFile(key string) (*os.File, Info, error) {
	return l.open(key)
}
