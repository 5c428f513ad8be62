package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parley-cc/parley"
)

// S3Config names an S3-compatible bucket.
type S3Config struct {
	// Endpoint is host[:port]; a URL ("https://host") is accepted too, and
	// then its scheme decides Secure. Presigned URLs point at it, so it
	// must be the address clients reach the store at.
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // empty means us-east-1
	Secure    bool   // HTTPS
}

// LogValue keeps the secret key out of logs.
func (c S3Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("bucket", c.Bucket),
		slog.String("region", c.Region), slog.Bool("secure", c.Secure))
}

// S3 stores objects in a bucket of an S3-compatible store; clients upload
// to and download from the store directly.
type S3 struct {
	client *minio.Client
	bucket string
}

// NewS3 builds the client; it does not touch the network (see Check).
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("media: S3 needs an endpoint and a bucket")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("media: S3 needs an access key and a secret key: presigning is impossible without them")
	}
	endpoint := cfg.Endpoint
	if rest, ok := strings.CutPrefix(endpoint, "https://"); ok {
		endpoint, cfg.Secure = rest, true
	} else if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
		endpoint, cfg.Secure = rest, false
	}
	endpoint = strings.TrimRight(endpoint, "/")
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		// A known region spares a bucket-location request before every
		// presigned form, and path style works with any S3 clone and any
		// bucket name.
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("media: S3 client: %w", err)
	}
	return &S3{client: client, bucket: cfg.Bucket}, nil
}

// Check fails unless the bucket exists and the credentials may see it, so
// that a misconfigured store stops the server at start rather than at the
// first upload.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("media: S3 bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("media: S3 bucket %s does not exist", s.bucket)
	}
	return nil
}

// PresignedPost signs a SigV4 POST policy for one key. The Content-Type
// minio-go puts in the form (the prefix itself, which would pass the
// starts-with condition and store a file typed "image/") is replaced by
// the policy's form type.
func (s *S3) PresignedPost(ctx context.Context, key string, p Policy) (*PostForm, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	pp := minio.NewPostPolicy()
	for _, err := range []error{
		pp.SetBucket(s.bucket),
		pp.SetKey(key),
		pp.SetExpires(time.Now().UTC().Add(p.Expires)),
		pp.SetContentTypeStartsWith(p.ContentTypePrefix),
		pp.SetContentLengthRange(minUploadSize, p.MaxSize),
		pp.SetSuccessStatusAction("201"),
	} {
		if err != nil {
			return nil, fmt.Errorf("media: S3 post policy: %w", err)
		}
	}
	u, fields, err := s.client.PresignedPostPolicy(ctx, pp)
	if err != nil {
		return nil, fmt.Errorf("media: S3 presign: %w", err)
	}
	fields["Content-Type"] = p.formContentType()
	return &PostForm{URL: u.String(), Fields: fields}, nil
}

// URL presigns a GET of the object.
func (s *S3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("media: S3 presign: %w", err)
	}
	return u.String(), nil
}

// Stat describes an object.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.error(key, err)
	}
	return Info{Size: oi.Size, ContentType: oi.ContentType}, nil
}

// Put uploads an object; with size -1 minio-go buffers it in parts.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	ct, err := checkContentType(contentType)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: ct})
	if err != nil {
		return s.error(key, err)
	}
	return nil
}

// Open streams an object.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.error(key, err)
	}
	// GetObject is lazy: Stat makes the request, so that a missing object
	// fails here and not at the first Read.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, Info{}, s.error(key, err)
	}
	return obj, Info{Size: oi.Size, ContentType: oi.ContentType}, nil
}

// error turns a missing object into ENOTFOUND; a missing bucket is a
// misconfiguration, so it stays internal.
func (s *S3) error(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || (resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket") {
		return parley.Errorf(parley.ENOTFOUND, "No media object %s.", key)
	}
	return fmt.Errorf("media: S3: %w", err)
}
