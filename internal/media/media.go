// Package media stores the photos and videos of chats as blobs under keys.
// Clients never send files through the API: the API hands them a presigned
// POST form (the S3 browser-upload protocol) and signed download URLs, and
// the files go straight to the store. Two backends implement it: Local, a
// directory that serves the upload and download routes itself, and S3, any
// S3-compatible object store.
package media

import (
	"context"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/parley-cc/parley"
)

// Store is a blob store. Every method fails with a parley.Error for bad
// input (EINVALID) and for a missing key (ENOTFOUND); other errors are
// outages of the backend.
type Store interface {
	// PresignedPost returns the form a client POSTs a file with, valid for
	// the one key, within the policy, until the policy expires.
	PresignedPost(ctx context.Context, key string, p Policy) (*PostForm, error)
	// URL returns an absolute download URL that stops working after ttl.
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
	Stat(ctx context.Context, key string) (Info, error)
	// Put stores r under key; size -1 means unknown. The object appears
	// whole or not at all.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Copy stores the object at src under dst too, with its content type;
	// a later change of src leaves dst as it was.
	Copy(ctx context.Context, src, dst string) error
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn with every object whose key starts with prefix, in no
	// particular order, until fn returns an error (returned as is).
	List(ctx context.Context, prefix string, fn func(Object) error) error
}

// Object is a stored object as List sees it.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Policy bounds what one presigned upload may store.
type Policy struct {
	// ContentTypePrefix is what the Content-Type field must start with,
	// e.g. "image/"; empty allows any type.
	ContentTypePrefix string
	// ContentType is the Content-Type field the form carries, within the
	// prefix (e.g. "image/jpeg"), so that a client posting back exactly
	// the fields it was given satisfies the policy; it may replace it with
	// another type within the prefix. Empty: the prefix's default
	// (application/octet-stream when there is no prefix).
	ContentType string
	MaxSize     int64 // bytes; required, so that no form takes files of any size
	Expires     time.Duration
}

// PostForm is a presigned upload: the client POSTs multipart/form-data to
// URL with every field of Fields as it is (Content-Type included, which it
// may replace with another type within the policy's prefix: the S3
// browser-POST convention), then the file in a field named "file", which
// must come last.
type PostForm struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// Info describes a stored object.
type Info struct {
	Size        int64
	ContentType string
}

// Limits shared by the backends.
const (
	MaxKeyLen = 512
	// MaxTTL is the longest a presigned form or URL may live; it is S3's
	// own limit for SigV4 presigned URLs.
	MaxTTL = 7 * 24 * time.Hour
	// minUploadSize makes a presigned upload refuse empty files: an empty
	// photo or video is always a client bug.
	minUploadSize = 1
	// DefaultContentType is what an object stored without a type gets.
	DefaultContentType = "application/octet-stream"
)

// ValidKey reports whether key is acceptable to every backend: 1 to
// MaxKeyLen bytes of letters, digits, '.', '_', '-' and '/', no leading or
// trailing '/', no empty segment, no segment starting with '.' (so no ".."
// either). The charset keeps keys safe in paths, URLs and policy documents
// without escaping.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return parley.FieldError("key", "must be 1 to %d characters", MaxKeyLen)
	}
	for _, c := range []byte(key) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return parley.FieldError("key", "may hold only letters, digits, '.', '_', '-' and '/'")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" {
			return parley.FieldError("key", "must not start or end with '/' or hold '//'")
		}
		if seg[0] == '.' {
			return parley.FieldError("key", "no path segment may start with '.'")
		}
	}
	return nil
}

// formContentType is the Content-Type field of a form under policy p.
func (p Policy) formContentType() string {
	if p.ContentType != "" {
		return p.ContentType
	}
	if p.ContentTypePrefix == "" {
		return DefaultContentType
	}
	return p.ContentTypePrefix + "octet-stream"
}

// check validates the policy a backend is asked to sign.
func (p Policy) check() error {
	if p.MaxSize < minUploadSize {
		return parley.FieldError("max_size", "must be at least %d byte", minUploadSize)
	}
	if p.Expires <= 0 || p.Expires > MaxTTL {
		return parley.FieldError("expires", "must be more than 0 and at most %s", MaxTTL)
	}
	// The prefix is written into a JSON policy unescaped by minio-go, so
	// only the characters of a media type are allowed.
	for _, c := range []byte(p.ContentTypePrefix) {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return parley.FieldError("content_type_prefix", "holds a character no media type has")
		}
	}
	if p.ContentType != "" {
		if _, err := checkContentType(p.ContentType); err != nil || !strings.HasPrefix(p.ContentType, p.ContentTypePrefix) {
			return parley.FieldError("content_type", "must be a media type starting with %q", p.ContentTypePrefix)
		}
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 || ttl > MaxTTL {
		return parley.FieldError("ttl", "must be more than 0 and at most %s", MaxTTL)
	}
	return nil
}

// checkContentType normalizes the type an object is stored with.
func checkContentType(ct string) (string, error) {
	if ct == "" {
		return DefaultContentType, nil
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil || len(ct) > 255 {
		return "", parley.FieldError("content_type", "is not a media type: %s", parley.Clip(ct))
	}
	return ct, nil
}
