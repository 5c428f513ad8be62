package media_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/media"
)

// stores runs a test on a local store and on S3 (gofakes3).
func stores(t *testing.T, test func(t *testing.T, s media.Store)) {
	t.Run("local", func(t *testing.T) {
		l, err := media.NewLocal(media.LocalConfig{Dir: t.TempDir(), Secret: bytes.Repeat([]byte("k"), 32), Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		test(t, l)
	})
	t.Run("s3", func(t *testing.T) { test(t, newS3(t)) })
}

func put(t *testing.T, s media.Store, key, content, contentType string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(content), int64(len(content)), contentType); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func read(t *testing.T, s media.Store, key string) (string, media.Info) {
	t.Helper()
	rc, info, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), info
}

// TestCopyDeleteList: a copy keeps its content and type when the source
// is replaced; deleting is idempotent; List sees the keys under a prefix.
func TestCopyDeleteList(t *testing.T) {
	stores(t, func(t *testing.T, s media.Store) {
		ctx := context.Background()
		put(t, s, "chats/1/2/photo/a", "first", "image/png")
		if err := s.Copy(ctx, "chats/1/2/photo/a", "chats/1/2/photo/kept/b"); err != nil {
			t.Fatal(err)
		}
		put(t, s, "chats/1/2/photo/a", "replaced", "image/gif")
		if got, info := read(t, s, "chats/1/2/photo/kept/b"); got != "first" || info.ContentType != "image/png" {
			t.Fatalf("the copy after its source was replaced: %q %+v", got, info)
		}
		if err := s.Copy(ctx, "chats/1/2/photo/none", "chats/1/2/photo/c"); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("copy of a missing object: %v", err)
		}
		put(t, s, "recordings/1/x.wav", "wav", "audio/wav")
		var keys []string
		if err := s.List(ctx, "chats/", func(o media.Object) error {
			if o.Size <= 0 || o.Modified.IsZero() {
				t.Errorf("listed %+v", o)
			}
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"chats/1/2/photo/a", "chats/1/2/photo/kept/b"}) {
			t.Fatalf("List(chats/) = %v", keys)
		}
		for range 2 {
			if err := s.Delete(ctx, "chats/1/2/photo/a"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
		if _, err := s.Stat(ctx, "chats/1/2/photo/a"); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("Stat after Delete: %v", err)
		}
	})
}

// TestSweepOrphans: objects nothing names and written before the cut are
// deleted; named ones and recent ones stay.
func TestSweepOrphans(t *testing.T) {
	stores(t, func(t *testing.T, s media.Store) {
		ctx := context.Background()
		for _, k := range []string{"recordings/1/named.wav", "recordings/1/orphan.wav", "recordings/2/orphan.wav", "chats/1/1/photo/x"} {
			put(t, s, k, "data of "+k, "audio/wav")
		}
		var asked []string
		referenced := func(ctx context.Context, keys []string) (map[string]bool, error) {
			asked = append(asked, keys...)
			return map[string]bool{"recordings/1/named.wav": true}, nil
		}
		// Everything was written after this cut: nothing is judged.
		if n, err := media.SweepOrphans(ctx, s, "recordings/", time.Now().Add(-time.Hour), referenced); err != nil || n != 0 || len(asked) != 0 {
			t.Fatalf("sweep of recent objects: %d, %v, asked %v", n, err, asked)
		}
		n, err := media.SweepOrphans(ctx, s, "recordings/", time.Now().Add(time.Hour), referenced)
		if err != nil || n != 2 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		for k, want := range map[string]bool{"recordings/1/named.wav": true, "recordings/1/orphan.wav": false, "recordings/2/orphan.wav": false, "chats/1/1/photo/x": true} {
			_, err := s.Stat(ctx, k)
			if (err == nil) != want {
				t.Errorf("%s after the sweep: %v, want kept %v", k, err, want)
			}
		}
	})
}
