package apps_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestUploadFormAsGiven: a client that posts back exactly the fields of an
// upload form, plus the file (the S3 browser-POST convention), stores it,
// on the local store and on S3, for photos and videos, with the type it
// named or the kind's default. gofakes3 does not enforce policies, so the
// test also checks that the form's fields satisfy its own policy.
func TestUploadFormAsGiven(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		for _, backend := range []string{"local", "s3"} {
			t.Run(backend, func(t *testing.T) {
				opts := testenv.Options{Manual: true}
				if backend == "s3" {
					mem := s3mem.New()
					if err := mem.CreateBucket("media"); err != nil {
						t.Fatal(err)
					}
					s3 := httptest.NewServer(gofakes3.New(mem).Server())
					t.Cleanup(s3.Close)
					opts.Configure = func(c *server.Config) {
						c.Media = server.MediaConfig{Backend: "s3", S3: media.S3Config{Endpoint: s3.URL, Bucket: "media", AccessKey: "a", SecretKey: "s"}}
					}
				}
				env := testenv.StartWith(t, dsn, opts)
				f := newFixture(t, env, "Store"+backend) // one database, a tenant per backend
				chatPath := fmt.Sprintf("/apps/api/v1/chats/%d", f.ChatID)
				for _, c := range []struct {
					kind, asked, want string
				}{
					{"photos", "", "image/jpeg"},
					{"photos", "image/png", "image/png"},
					{"videos", "", "video/mp4"},
					{"videos", "video/webm", "video/webm"},
				} {
					var body any
					if c.asked != "" {
						body = map[string]any{"content_type": c.asked}
					}
					var form struct {
						URL    string            `json:"url"`
						Fields map[string]string `json:"fields"`
					}
					must(t, env.Do(t, "POST", chatPath+"/"+c.kind+"/upload", f.Token, body), 200).JSON(t, &form)
					if form.Fields["Content-Type"] != c.want {
						t.Fatalf("%s form (asked %q): Content-Type %q, want %q", c.kind, c.asked, form.Fields["Content-Type"], c.want)
					}
					checkFormAgainstPolicy(t, form.Fields)
					file := append([]byte("not really a "+c.want), bytes.Repeat([]byte{9}, 2000)...)
					if status := postExactly(t, form.URL, form.Fields, file); status/100 != 2 {
						t.Fatalf("%s: posting the form as given: status %d", c.kind, status)
					}
					key := form.Fields["key"]
					att := map[string]any{"photo": []any{map[string]any{"s3_path": key}}}
					if c.kind == "videos" {
						att = map[string]any{"video": map[string]any{"s3_path": key}}
					}
					var out struct {
						URL string `json:"url"`
					}
					must(t, env.Do(t, "POST", chatPath+"/"+c.kind, f.Token, att), 200).JSON(t, &out)
					res, err := http.Get(out.URL)
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || !bytes.Equal(got, file) || res.Header.Get("Content-Type") != c.want {
						t.Fatalf("%s: download %d, %d bytes, type %q", c.kind, res.StatusCode, len(got), res.Header.Get("Content-Type"))
					}
				}
				if r := env.Do(t, "POST", chatPath+"/photos/upload", f.Token, map[string]any{"content_type": "text/html"}); r.Status != 422 {
					t.Fatalf("a photo form for text/html: %d %s", r.Status, r.Body)
				}
			})
		}
	})
}

// postExactly posts the fields as given, then the file, as a browser form.
func postExactly(t *testing.T, url string, fields map[string]string, file []byte) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "upload.bin")
	_, _ = fw.Write(file)
	_ = mw.Close()
	res, err := http.Post(url, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// checkFormAgainstPolicy checks, as S3 would, that every field of a form
// is named by a condition of its policy and meets it.
func checkFormAgainstPolicy(t *testing.T, fields map[string]string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	var doc struct {
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("policy %s: %v", raw, err)
	}
	lower := map[string]string{}
	for k, v := range fields {
		lower[strings.ToLower(k)] = v
	}
	covered := map[string]bool{}
	for _, c := range doc.Conditions {
		var field, op, value string
		var obj map[string]string
		var arr []any
		switch {
		case json.Unmarshal(c, &obj) == nil:
			for k, v := range obj {
				op, field, value = "eq", strings.ToLower(k), v
			}
		case json.Unmarshal(c, &arr) == nil && len(arr) == 3:
			o, _ := arr[0].(string)
			if o == "content-length-range" {
				continue
			}
			f, _ := arr[1].(string)
			v, _ := arr[2].(string)
			op, field, value = strings.ToLower(o), strings.ToLower(strings.TrimPrefix(f, "$")), v
		default:
			t.Fatalf("policy condition %s", c)
		}
		covered[field] = true
		got, present := lower[field]
		if !present || (op == "eq" && got != value) || (op == "starts-with" && !strings.HasPrefix(got, value)) {
			t.Errorf("form field %s = %q does not meet the policy's %s %q", field, got, op, value)
		}
	}
	for f := range lower {
		if !covered[f] && f != "policy" && f != "x-amz-signature" && !strings.HasPrefix(f, "x-ignore-") {
			t.Errorf("form field %s is named by no condition of the policy", f)
		}
	}
	if !covered["content-type"] {
		t.Errorf("the policy says nothing of Content-Type: %s", raw)
	}
}
