package localmedia_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api/localmedia"
	"github.com/parley-cc/parley/internal/media"
)

var testSecret = bytes.Repeat([]byte("s3cr3t!"), 5)

// localEnv is a local store behind a real HTTP server, mounted on the
// routes the Parley server uses.
type localEnv struct {
	store *media.Local
	dir   string
	clock *clock
	url   string
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
	mux := http.NewServeMux()
	(&localmedia.Handler{Store: l, Log: slog.New(slog.DiscardHandler)}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	l.SetBaseURL(srv.URL + "/")
	return &localEnv{store: l, dir: dir, clock: c, url: srv.URL}
}

var photoPolicy = media.Policy{ContentTypePrefix: "image/", ContentType: "image/jpeg", MaxSize: 64 << 10, Expires: 10 * time.Minute}

func TestLocalUploadAndDownload(t *testing.T) {
	ctx := context.Background()
	e := newLocal(t)
	key := "chats/42/photos/0b5e-photo.png"
	form, err := e.store.PresignedPost(ctx, key, photoPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if form.URL != e.url+"/media/upload" {
		t.Errorf("form URL %q, want %q", form.URL, e.url+"/media/upload")
	}
	for _, f := range []string{"key", "success_action_status", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} {
		if form.Fields[f] == "" {
			t.Errorf("form lacks field %s: %v", f, form.Fields)
		}
	}
	file := payload(40 << 10)
	status, body := upload{fields: form.Fields, contentType: "image/png", file: file}.post(t, form.URL)
	if status != http.StatusCreated {
		t.Fatalf("upload: status %d: %s", status, body)
	}
	var resp struct {
		Key, ETag, Location string
	}
	if err := xml.Unmarshal(body, &resp); err != nil || resp.Key != key || resp.ETag == "" {
		t.Errorf("201 body %s (%v), want a PostResponse for %s", body, err, key)
	}

	info, err := e.store.Stat(ctx, key)
	if err != nil || info.Size != int64(len(file)) || info.ContentType != "image/png" {
		t.Fatalf("Stat = %+v, %v; want %d bytes of image/png", info, err, len(file))
	}
	rc, info2, err := e.store.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, file) || info2 != info {
		t.Fatalf("Open: %d bytes, info %+v, err %v", len(got), info2, err)
	}

	link, err := e.store.URL(ctx, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, e.url+"/media/files/"+key+"?") {
		t.Errorf("URL %q is not an absolute URL of the file", link)
	}
	res, got := get(t, link, nil)
	if res.StatusCode != 200 || !bytes.Equal(got, file) || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET: status %d, %d bytes, type %q", res.StatusCode, len(got), res.Header.Get("Content-Type"))
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("uploaded content is served without nosniff and sandbox: %v", res.Header)
	}
	res, got = get(t, link, http.Header{"Range": {"bytes=10-19"}})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(got, file[10:20]) {
		t.Errorf("ranged GET: status %d, %q", res.StatusCode, got)
	}

	// The URL keeps working after a restart on the same directory and key:
	// the key is what LoadSigningKey persists.
	again := openLocal(t, e.dir, testSecret)
	res, _ = get(t, strings.Replace(link, e.url, again.url, 1), nil)
	if res.StatusCode != 200 {
		t.Errorf("after restart: status %d", res.StatusCode)
	}
	other := openLocal(t, e.dir, bytes.Repeat([]byte("another key!"), 3))
	res, _ = get(t, strings.Replace(link, e.url, other.url, 1), nil)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a store with another secret served the file: status %d", res.StatusCode)
	}
}

func TestLocalUploadStreamsLargeFiles(t *testing.T) {
	ctx := context.Background()
	e := newLocal(t)
	key := "chats/1/videos/clip.mp4"
	// Larger than the 1 MiB the form fields may take and than any buffer
	// of the multipart reader: the file is streamed, not read whole.
	size := int64(3<<20 + 12345)
	form, err := e.store.PresignedPost(ctx, key, media.Policy{ContentTypePrefix: "video/", MaxSize: size, Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	file := payload(int(size))
	if status, body := (upload{fields: form.Fields, contentType: "video/mp4", file: file}).post(t, form.URL); status != 201 {
		t.Fatalf("upload: status %d: %s", status, body)
	}
	info, err := e.store.Stat(ctx, key)
	if err != nil || info.Size != size || info.ContentType != "video/mp4" {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
}

func TestLocalUploadRejections(t *testing.T) {
	ctx := context.Background()
	key := "chats/7/photos/a.jpg"
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'a' {
			b[0] = 'b'
		} else {
			b[0] = 'a'
		}
		return string(b)
	}
	for _, c := range []struct {
		name    string
		policy  media.Policy
		upload  func(u *upload, form *media.PostForm)
		advance time.Duration
		status  int
		code    string
	}{
		{name: "tampered signature", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) {
				u.change = map[string]*string{"x-amz-signature": str(flip(f.Fields["x-amz-signature"]))}
			}},
		{name: "no signature", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) { u.change = map[string]*string{"x-amz-signature": nil} }},
		{name: "no policy", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) { u.change = map[string]*string{"policy": nil} }},
		{name: "tampered policy", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) {
				doc, _ := base64.StdEncoding.DecodeString(f.Fields["policy"])
				doc = bytes.Replace(doc, []byte(`65536`), []byte(`99999999`), 1)
				u.change = map[string]*string{"policy": str(base64.StdEncoding.EncodeToString(doc))}
				u.file = payload(70 << 10)
			}},
		{name: "expired policy", advance: 11 * time.Minute, status: 403, code: parley.EFORBIDDEN},
		{name: "wrong content type", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) { u.contentType = "text/html" }},
		{name: "no content type", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) {
				u.contentType, u.change = "", map[string]*string{"Content-Type": nil}
			}},
		{name: "content type that is only the prefix", status: 400, code: parley.EINVALID,
			upload: func(u *upload, f *media.PostForm) { u.contentType = "image/" }},
		{name: "over size", status: 413, code: parley.ETOOLARGE,
			upload: func(u *upload, f *media.PostForm) { u.file = payload(64<<10 + 1) }},
		{name: "far over size", status: 413, code: parley.ETOOLARGE,
			upload: func(u *upload, f *media.PostForm) { u.file = payload(3 << 20) }},
		{name: "empty file", status: 400, code: parley.EINVALID,
			upload: func(u *upload, f *media.PostForm) { u.file = []byte{} }},
		{name: "no file", status: 400, code: parley.EINVALID,
			upload: func(u *upload, f *media.PostForm) { u.file = nil }},
		{name: "key outside the policy", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) { u.change = map[string]*string{"key": str("chats/8/photos/a.jpg")} }},
		{name: "field the policy does not name", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) { u.change = map[string]*string{"acl": str("public-read")} }},
		{name: "success status changed", status: 403, code: parley.EFORBIDDEN,
			upload: func(u *upload, f *media.PostForm) { u.change = map[string]*string{"success_action_status": str("200")} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newLocal(t)
			form, err := e.store.PresignedPost(ctx, key, photoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			u := upload{fields: form.Fields, contentType: "image/jpeg", file: payload(1000)}
			if c.upload != nil {
				c.upload(&u, form)
			}
			e.clock.Advance(c.advance)
			status, body := u.post(t, form.URL)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if _, code := errorBody(t, body); code != c.code {
				t.Errorf("code %q, want %q", code, c.code)
			}
			for _, k := range []string{key, "chats/8/photos/a.jpg"} {
				if _, err := e.store.Stat(ctx, k); parley.ErrorCode(err) != parley.ENOTFOUND {
					t.Errorf("Stat(%s) after a rejected upload: %v", k, err)
				}
			}
			if left := files(t, e.dir); len(left) > 0 {
				t.Errorf("a rejected upload left files: %v", left)
			}
		})
	}
}

func TestLocalUploadMalformed(t *testing.T) {
	e := newLocal(t)
	for _, c := range []struct {
		name, contentType, body string
	}{
		{"json body", "application/json", `{"key": "a"}`},
		{"truncated multipart", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nabc"},
	} {
		res, err := http.Post(e.url+"/media/upload", c.contentType, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("%s: status %d: %s", c.name, res.StatusCode, b)
		}
		errorBody(t, b)
	}
}

func TestLocalDownloadRejections(t *testing.T) {
	ctx := context.Background()
	e := newLocal(t)
	key := "chats/3/photos/b.png"
	if err := e.store.Put(ctx, key, bytes.NewReader(payload(100)), 100, "image/png"); err != nil {
		t.Fatal(err)
	}
	link, err := e.store.URL(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	with := func(change func(q url.Values), path string) string {
		v := url.Values{}
		for k, x := range q {
			v[k] = x
		}
		change(v)
		return e.url + path + "?" + v.Encode()
	}
	missing, err := e.store.URL(ctx, "chats/3/photos/none.png", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, url string
		status    int
		code      string
	}{
		{"valid", link, 200, ""},
		{"tampered signature", with(func(v url.Values) { v.Set("signature", strings.Repeat("0", 64)) }, u.Path), 403, parley.EFORBIDDEN},
		{"no signature", with(func(v url.Values) { v.Del("signature") }, u.Path), 403, parley.EFORBIDDEN},
		{"later expiry", with(func(v url.Values) { v.Set("expires", "99999999999") }, u.Path), 403, parley.EFORBIDDEN},
		{"another key", with(func(v url.Values) {}, "/media/files/chats/3/photos/c.png"), 403, parley.EFORBIDDEN},
		{"missing object", missing, 404, parley.ENOTFOUND},
	} {
		res, body := get(t, c.url, nil)
		if res.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, res.StatusCode, c.status, body)
			continue
		}
		if c.code != "" {
			if _, code := errorBody(t, body); code != c.code {
				t.Errorf("%s: code %q, want %q", c.name, code, c.code)
			}
		}
	}
	e.clock.Advance(61 * time.Second)
	if res, body := get(t, link, nil); res.StatusCode != 403 {
		t.Errorf("expired URL: status %d: %s", res.StatusCode, body)
	}
}
