package localmedia_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestServerLocalMedia runs the local store as the server wires it: behind
// the request middleware, with its key in server_keys, in a temporary
// directory since the test server has no data directory.
func TestServerLocalMedia(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		if _, ok := env.Media.(*media.Local); !ok {
			t.Fatalf("default media store is %T, want *media.Local", env.Media)
		}
		key := "chats/5/videos/v.mp4"
		// Over the 1 MiB every API family's bodies are limited to.
		size := int64(2<<20 + 1)
		form, err := env.Media.PresignedPost(ctx, key, media.Policy{ContentTypePrefix: "video/", MaxSize: size, Expires: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if form.URL != env.URL()+"/media/upload" {
			t.Errorf("form URL %s, want one on %s", form.URL, env.URL())
		}
		file := payload(int(size))
		if status, body := (upload{fields: form.Fields, contentType: "video/mp4", file: file}).post(t, form.URL); status != 201 {
			t.Fatalf("upload: status %d: %s", status, body)
		}
		link, err := env.Media.URL(ctx, key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		res, got := get(t, link, nil)
		if res.StatusCode != 200 || !bytes.Equal(got, file) || res.Header.Get("X-Request-Id") == "" {
			t.Fatalf("GET: status %d, %d bytes, request id %q", res.StatusCode, len(got), res.Header.Get("X-Request-Id"))
		}
		res, body := get(t, env.URL()+"/media/files/"+key+"?expires=1&signature=00", nil)
		if res.StatusCode != 403 {
			t.Errorf("unsigned GET: status %d: %s", res.StatusCode, body)
		}
		var n int
		if err := env.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM server_keys WHERE name = ?`, media.SigningKeyName).Scan(&n); err != nil || n != 1 {
			t.Errorf("signing key rows: %d, %v", n, err)
		}
	})
}

func TestServerS3Media(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3.Close)
	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Manual: true, Configure: func(c *server.Config) {
		c.Media = server.MediaConfig{Backend: "s3", S3: media.S3Config{Endpoint: s3.URL, Bucket: "media", AccessKey: "a", SecretKey: "s"}}
	}})
	if _, ok := env.Media.(*media.S3); !ok {
		t.Fatalf("media store is %T, want *media.S3", env.Media)
	}
	// Uploads go to the object store, so the server does not take them.
	if res, _ := get(t, env.URL()+"/media/files/x?expires=1&signature=00", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /media/files with S3: status %d", res.StatusCode)
	}
	ctx := context.Background()
	if err := env.Media.Put(ctx, "k", bytes.NewReader([]byte("abc")), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	if info, err := env.Media.Stat(ctx, "k"); err != nil || info.Size != 3 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
}
