package media

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-cc/parley"
)

// Local keeps objects in a directory. Clients upload with the S3
// browser-upload form, so that they cannot tell it from S3, and download
// through signed URLs, both on routes of this server (UploadRoute,
// FilesRoute), whose HTTP side is internal/api/localmedia's; this type
// signs and checks the forms and URLs and keeps the files.
//
// Objects live under objects/<h[:2]>/<h>, h the SHA-256 of the key, with
// their metadata beside them in <h>.json: hashing makes traversal
// impossible whatever the key, and keys that differ only in case stay
// apart on case-insensitive file systems.
type Local struct {
	// Now is the clock policies and URLs are checked against; tests move it.
	Now func() time.Time

	dir       string
	uploadKey []byte // signs upload policies
	urlKey    []byte // signs download URLs; distinct, so one never passes for the other
	baseURL   atomic.Pointer[string]
	log       *slog.Logger
}

// LocalConfig configures a Local store.
type LocalConfig struct {
	Dir    string
	Secret []byte // at least 32 bytes; see LoadSigningKey
	// BaseURL is the absolute URL the server is reached at by clients,
	// e.g. "https://chat.example.com"; presigned URLs start with it.
	BaseURL string
	Log     *slog.Logger
}

// Routes the local store's forms and URLs point at; the server mounts
// internal/api/localmedia on them.
const (
	UploadRoute = "POST " + uploadPath
	FilesRoute  = "GET " + filesPath + "{key...}"
	uploadPath  = "/media/upload"
	filesPath   = "/media/files/"
)

// staleTemp is how old an abandoned temporary file must be before a new
// store removes it: older than any upload can take.
const staleTemp = 24 * time.Hour

// NewLocal opens (creating if needed) a store in cfg.Dir.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("media: the local store needs a secret of at least 32 bytes")
	}
	if cfg.Dir == "" {
		return nil, errors.New("media: the local store needs a directory")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Join(dir, "objects"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("media: %w", err)
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	l := &Local{Now: time.Now, dir: dir, log: cfg.Log,
		uploadKey: derive(cfg.Secret, "parley media upload policy v1"),
		urlKey:    derive(cfg.Secret, "parley media download url v1")}
	l.SetBaseURL(cfg.BaseURL)
	l.removeStaleTemps()
	return l, nil
}

func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// SetBaseURL sets the absolute URL clients reach the server at. The server
// calls it once it knows its address, when none was configured.
func (l *Local) SetBaseURL(u string) {
	u = strings.TrimRight(u, "/")
	l.baseURL.Store(&u)
}

func (l *Local) base() (string, error) {
	if u := *l.baseURL.Load(); u != "" {
		return u, nil
	}
	return "", errors.New("media: the public base URL of the local store is not set")
}

// removeStaleTemps deletes what crashed uploads left behind.
func (l *Local) removeStaleTemps() {
	entries, err := os.ReadDir(filepath.Join(l.dir, "tmp"))
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && l.Now().Sub(info.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(l.dir, "tmp", e.Name()))
		}
	}
}

func (l *Local) paths(key string) (data, meta string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	data = filepath.Join(l.dir, "objects", h[:2], h)
	return data, data + ".json"
}

type metadata struct {
	Key         string `json:"key"`
	ContentType string `json:"content_type"`
}

// PresignedPost signs a policy for one upload to UploadRoute.
func (l *Local) PresignedPost(ctx context.Context, key string, p Policy) (*PostForm, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	base, err := l.base()
	if err != nil {
		return nil, err
	}
	now := l.Now().UTC()
	date := now.Format(amzDateFormat)
	doc, err := json.Marshal(map[string]any{
		"expiration": now.Add(p.Expires).Format(expirationFormat),
		"conditions": []any{
			map[string]string{"key": key},
			map[string]string{"success_action_status": "201"},
			[]any{"starts-with", "$Content-Type", p.ContentTypePrefix},
			[]any{"content-length-range", minUploadSize, p.MaxSize},
			map[string]string{"x-amz-algorithm": localAlgorithm},
			map[string]string{"x-amz-credential": localCredential},
			map[string]string{"x-amz-date": date},
		},
	})
	if err != nil {
		return nil, err
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	return &PostForm{URL: base + uploadPath, Fields: map[string]string{
		"key":                   key,
		"Content-Type":          p.formContentType(),
		"success_action_status": "201",
		"policy":                policy,
		"x-amz-algorithm":       localAlgorithm,
		"x-amz-credential":      localCredential,
		"x-amz-date":            date,
		"x-amz-signature":       l.signPolicy(policy),
	}}, nil
}

func (l *Local) signPolicy(policy string) string {
	m := hmac.New(sha256.New, l.uploadKey)
	m.Write([]byte(policy))
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Local) signURL(key string, expires int64) []byte {
	m := hmac.New(sha256.New, l.urlKey)
	m.Write([]byte(key + "\n" + strconv.FormatInt(expires, 10)))
	return m.Sum(nil)
}

// URL signs a download URL of FilesRoute.
func (l *Local) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	base, err := l.base()
	if err != nil {
		return "", err
	}
	// Rounded up to the second, so that the URL never dies before ttl.
	expires := l.Now().Add(ttl + time.Second - 1).Unix()
	return fmt.Sprintf("%s%s%s?expires=%d&signature=%s", base, filesPath, key, expires,
		hex.EncodeToString(l.signURL(key, expires))), nil
}

// Stat describes a stored object.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	f, info, err := l.open(key)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return info, nil
}

// Open returns the object's content; the reader is an *os.File, so it can
// also seek.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	return l.open(key)
}

func (l *Local) open(key string) (*os.File, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	data, meta := l.paths(key)
	f, err := os.Open(data)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, parley.Errorf(parley.ENOTFOUND, "No media object %s.", key)
	} else if err != nil {
		return nil, Info{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	info := Info{Size: st.Size(), ContentType: DefaultContentType}
	// The data file is the object; metadata missing (a crash between the
	// two renames) only costs the content type.
	if b, err := os.ReadFile(meta); err == nil {
		var m metadata
		if json.Unmarshal(b, &m) == nil && m.ContentType != "" {
			info.ContentType = m.ContentType
		}
	}
	return f, info, nil
}

// Put stores an object the server itself produced.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	ct, err := checkContentType(contentType)
	if err != nil {
		return err
	}
	_, _, err = l.write(key, ct, ctxReader{ctx, r}, -1, func(n int64) error {
		if size >= 0 && n != size {
			return parley.Errorf(parley.EINVALID, "The object has %d bytes, not the %d announced.", n, size)
		}
		return nil
	})
	return err
}

// errTooLarge is what write returns when the content passes its limit.
var errTooLarge = parley.Errorf(parley.ETOOLARGE, "The file is larger than the policy allows.")

// write streams r into a temporary file, at most limit bytes (-1: no
// limit), lets accept judge the size, and only then renames it into place:
// metadata first, then data, so that a reader never sees a partial object.
// It returns the size and the MD5 (the ETag S3 would give).
func (l *Local) write(key, contentType string, r io.Reader, limit int64, accept func(n int64) error) (int64, string, error) {
	tmp := filepath.Join(l.dir, "tmp")
	f, err := os.CreateTemp(tmp, "data-*")
	if err != nil {
		return 0, "", err
	}
	var temps []string // removed unless renamed into place
	defer func() {
		for _, t := range temps {
			_ = os.Remove(t)
		}
	}()
	temps = append(temps, f.Name())
	defer f.Close()
	if limit >= 0 {
		r = io.LimitReader(r, limit+1)
	}
	sum := md5.New()
	n, err := io.Copy(io.MultiWriter(f, sum), r)
	if err != nil {
		return n, "", err
	}
	if limit >= 0 && n > limit {
		return n, "", errTooLarge
	}
	if err := accept(n); err != nil {
		return n, "", err
	}
	if err := f.Sync(); err != nil {
		return n, "", err
	}
	if err := f.Close(); err != nil {
		return n, "", err
	}
	mb, err := json.Marshal(metadata{Key: key, ContentType: contentType})
	if err != nil {
		return n, "", err
	}
	mf, err := os.CreateTemp(tmp, "meta-*")
	if err != nil {
		return n, "", err
	}
	temps = append(temps, mf.Name())
	_, err = mf.Write(mb)
	if err == nil {
		err = mf.Sync()
	}
	if cerr := mf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, "", err
	}
	data, meta := l.paths(key)
	if err := os.MkdirAll(filepath.Dir(data), 0o750); err != nil {
		return n, "", err
	}
	if err := os.Rename(mf.Name(), meta); err != nil {
		return n, "", err
	}
	if err := os.Rename(f.Name(), data); err != nil {
		return n, "", err
	}
	temps = nil
	return n, hex.EncodeToString(sum.Sum(nil)), nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
