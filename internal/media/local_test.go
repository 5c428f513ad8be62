package media_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/store"
)

var testSecret = bytes.Repeat([]byte("s3cr3t!"), 5)

// localEnv is a local store; its forms and URLs name a base URL nothing
// serves (the HTTP side is internal/api/localmedia's, tested there).
type localEnv struct {
	store *media.Local
	dir   string
	clock *clock
}

func newLocal(t *testing.T) *localEnv {
	t.Helper()
	return openLocal(t, t.TempDir(), testSecret)
}

func openLocal(t *testing.T, dir string, secret []byte) *localEnv {
	t.Helper()
	l, err := media.NewLocal(media.LocalConfig{Dir: dir, Secret: secret, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	l.Now = c.Now
	l.SetBaseURL("http://media.test/")
	return &localEnv{store: l, dir: dir, clock: c}
}

var photoPolicy = media.Policy{ContentTypePrefix: "image/", ContentType: "image/jpeg", MaxSize: 64 << 10, Expires: 10 * time.Minute}

func TestLocalPutOpenStat(t *testing.T) {
	ctx := context.Background()
	e := newLocal(t)
	key := "recordings/call-1.wav"
	if _, _, err := e.store.Open(ctx, key); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("Open of a missing key: %v", err)
	}
	if err := e.store.Put(ctx, key, bytes.NewReader(payload(10)), 11, "audio/wav"); parley.ErrorCode(err) != parley.EINVALID {
		t.Fatalf("Put with a wrong size: %v", err)
	}
	if left := files(t, e.dir); len(left) > 0 {
		t.Fatalf("a failed Put left files: %v", left)
	}
	if err := e.store.Put(ctx, key, bytes.NewReader(payload(10)), -1, ""); err != nil {
		t.Fatal(err)
	}
	if info, err := e.store.Stat(ctx, key); err != nil || info != (media.Info{Size: 10, ContentType: media.DefaultContentType}) {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	// Overwriting replaces content and type together.
	if err := e.store.Put(ctx, key, strings.NewReader("RIFF"), 4, "audio/wav"); err != nil {
		t.Fatal(err)
	}
	rc, info, err := e.store.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "RIFF" || info != (media.Info{Size: 4, ContentType: "audio/wav"}) {
		t.Fatalf("after overwrite: %q %+v", b, info)
	}
	// Keys differing only in case are distinct objects.
	if _, err := e.store.Stat(ctx, "Recordings/call-1.wav"); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Errorf("Stat of another case: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.store.Put(cancelled, "x/y", strings.NewReader("data"), 4, ""); err == nil {
		t.Error("Put with a cancelled context succeeded")
	}
	if err := e.store.Put(ctx, "x/y", strings.NewReader("data"), 4, "not a type"); parley.ErrorCode(err) != parley.EINVALID {
		t.Errorf("Put with a bad content type: %v", err)
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "chats/1/photos/0b5e_photo-1.JPG", strings.Repeat("k", media.MaxKeyLen)} {
		if err := media.ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "/a", "a/", "a//b", "../a", "a/../b", "a/..", ".hidden", "a/.b", "a b", "a\\b", "a?b", "a%2Fb",
		"ключ", strings.Repeat("k", media.MaxKeyLen+1)} {
		if err := media.ValidKey(k); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("ValidKey(%q) = %v, want invalid", k, err)
		}
	}
}

func TestLocalRefusesBadArguments(t *testing.T) {
	ctx := context.Background()
	e := newLocal(t)
	for name, p := range map[string]media.Policy{
		"no max size":      {Expires: time.Minute},
		"no expiry":        {MaxSize: 10},
		"too long":         {MaxSize: 10, Expires: media.MaxTTL + time.Second},
		"quote in prefix":  {MaxSize: 10, Expires: time.Minute, ContentTypePrefix: `image/"`},
		"space in prefix":  {MaxSize: 10, Expires: time.Minute, ContentTypePrefix: "image/ png"},
		"negative maximum": {MaxSize: -1, Expires: time.Minute},
	} {
		if _, err := e.store.PresignedPost(ctx, "k", p); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("%s: PresignedPost = %v, want invalid", name, err)
		}
	}
	if _, err := e.store.PresignedPost(ctx, "../k", photoPolicy); parley.ErrorCode(err) != parley.EINVALID {
		t.Errorf("PresignedPost with a bad key: %v", err)
	}
	for _, ttl := range []time.Duration{0, -time.Second, media.MaxTTL + time.Second} {
		if _, err := e.store.URL(ctx, "k", ttl); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("URL with ttl %s: %v", ttl, err)
		}
	}
	if _, err := media.NewLocal(media.LocalConfig{Dir: t.TempDir(), Secret: []byte("short")}); err == nil {
		t.Error("NewLocal took a short secret")
	}
}

func TestLoadSigningKey(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k1, err := media.LoadSigningKey(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := media.LoadSigningKey(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) < 32 || !bytes.Equal(k1, k2) {
		t.Fatalf("keys differ between starts: %x, %x", k1, k2)
	}
}
