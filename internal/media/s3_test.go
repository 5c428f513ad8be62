package media_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/media"
)

// newS3 runs gofakes3, an S3-protocol server, in process and returns the
// backend pointed at one of its buckets.
func newS3(t *testing.T) *media.S3 { return newS3Bucket(t, "parley-media") }

func newS3Bucket(t *testing.T, bucket string) *media.S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("parley-media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := media.NewS3(media.S3Config{Endpoint: srv.URL, Bucket: bucket,
		AccessKey: "AKIAPARLEYTEST", SecretKey: "parley-test-secret", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); (err != nil) != (bucket != "parley-media") {
		t.Fatalf("Check of bucket %s: %v", bucket, err)
	}
	return s
}

func TestS3UploadAndDownload(t *testing.T) {
	ctx := context.Background()
	s := newS3(t)
	key := "chats/42/photos/c0ffee.jpg"
	form, err := s.PresignedPost(ctx, key, photoPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"key", "bucket", "success_action_status", "policy", "x-amz-credential", "x-amz-algorithm", "x-amz-date", "x-amz-signature"} {
		if form.Fields[f] == "" {
			t.Errorf("form lacks field %s: %v", f, form.Fields)
		}
	}
	if ct := form.Fields["Content-Type"]; ct != "image/jpeg" {
		t.Errorf("form's Content-Type %q, want the policy's image/jpeg: %v", ct, form.Fields)
	}
	if form.Fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256" || !strings.Contains(form.Fields["x-amz-credential"], "/eu-west-1/s3/aws4_request") {
		t.Errorf("form is not SigV4 for the region: %v", form.Fields)
	}
	// The store enforces the policy, so it must say what Parley asked for.
	raw, err := base64.StdEncoding.DecodeString(form.Fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, raw)
	}
	if exp, err := time.Parse(time.RFC3339, doc.Expiration); err != nil || exp.Before(time.Now()) || exp.After(time.Now().Add(photoPolicy.Expires+time.Minute)) {
		t.Errorf("policy expiration %q", doc.Expiration)
	}
	conds, _ := json.Marshal(doc.Conditions)
	for _, want := range []string{`["eq","$key","` + key + `"]`, `["starts-with","$Content-Type","image/"]`,
		`["content-length-range",1,65536]`, `["eq","$bucket","parley-media"]`} {
		if !bytes.Contains(conds, []byte(want)) {
			t.Errorf("policy lacks %s: %s", want, conds)
		}
	}

	file := payload(50 << 10)
	status, body := upload{fields: form.Fields, contentType: "image/jpeg", file: file}.post(t, form.URL)
	if status/100 != 2 {
		t.Fatalf("upload to %s: status %d: %s", form.URL, status, body)
	}

	info, err := s.Stat(ctx, key)
	if err != nil || info.Size != int64(len(file)) || info.ContentType != "image/jpeg" {
		t.Fatalf("Stat = %+v, %v; want %d bytes of image/jpeg", info, err, len(file))
	}
	rc, info2, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, file) || info2 != info {
		t.Fatalf("Open: %d bytes, %+v, %v", len(got), info2, err)
	}
	link, err := s.URL(ctx, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(link, "X-Amz-Signature=") || !strings.Contains(link, "X-Amz-Expires=3600") {
		t.Errorf("URL %s is not presigned for an hour", link)
	}
	res, got := get(t, link, nil)
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, file) {
		t.Fatalf("GET presigned URL: status %d, %d bytes", res.StatusCode, len(got))
	}
}

func TestS3PutOpenStat(t *testing.T) {
	ctx := context.Background()
	s := newS3(t)
	key := "recordings/call-9.wav"
	if _, err := s.Stat(ctx, key); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("Stat of a missing key: %v", err)
	}
	if _, _, err := s.Open(ctx, key); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("Open of a missing key: %v", err)
	}
	data := payload(3000)
	if err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "audio/wav"); err != nil {
		t.Fatal(err)
	}
	rc, info, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) || info != (media.Info{Size: 3000, ContentType: "audio/wav"}) {
		t.Fatalf("Open: %d bytes, %+v", len(got), info)
	}
	if _, err := s.PresignedPost(ctx, "a//b", photoPolicy); parley.ErrorCode(err) != parley.EINVALID {
		t.Errorf("PresignedPost with a bad key: %v", err)
	}
	if _, err := s.URL(ctx, key, media.MaxTTL+time.Second); parley.ErrorCode(err) != parley.EINVALID {
		t.Errorf("URL beyond MaxTTL: %v", err)
	}
}

func TestS3Config(t *testing.T) {
	for name, c := range map[string]media.S3Config{
		"no endpoint": {Bucket: "b", AccessKey: "a", SecretKey: "s"},
		"no bucket":   {Endpoint: "localhost:9000", AccessKey: "a", SecretKey: "s"},
		"no keys":     {Endpoint: "localhost:9000", Bucket: "b"},
	} {
		if _, err := media.NewS3(c); err == nil {
			t.Errorf("%s: NewS3 accepted %+v", name, c)
		}
	}
	// The secret never reaches a log line.
	var buf bytes.Buffer
	c := media.S3Config{Endpoint: "s3.example.com", Bucket: "b", AccessKey: "a", SecretKey: "TOP-SECRET"}
	buf.WriteString(c.LogValue().String())
	if strings.Contains(buf.String(), "TOP-SECRET") {
		t.Errorf("LogValue shows the secret: %s", buf.String())
	}
	newS3Bucket(t, "no-such-bucket") // Check fails
	missing, err := media.NewS3(media.S3Config{Endpoint: "http://127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := missing.Check(ctx); err == nil {
		t.Error("Check passed without a store")
	}
}
