package media

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/parley-cc/parley"
)

// Copy copies the object server-side.
func (s *S3) Copy(ctx context.Context, src, dst string) error {
	if err := ValidKey(src); err != nil {
		return err
	}
	if err := ValidKey(dst); err != nil {
		return err
	}
	_, err := s.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: dst}, minio.CopySrcOptions{Bucket: s.bucket, Object: src})
	if err != nil {
		return s.error(src, err)
	}
	return nil
}

// Delete removes an object; S3 answers a missing one as deleted.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if e := s.error(key, err); parley.ErrorCode(e) != parley.ENOTFOUND {
			return e
		}
	}
	return nil
}

// List lists the bucket's objects under prefix, a page at a time.
func (s *S3) List(ctx context.Context, prefix string, fn func(Object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister when fn fails
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("media: S3 list: %w", o.Err)
		}
		if err := fn(Object{Key: o.Key, Size: o.Size, Modified: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}
