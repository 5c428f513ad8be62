package apps_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestChatPhotos: presigned form → the client's multipart POST → attach →
// list → signed download; a key of another chat or never uploaded is refused.
func TestChatPhotos(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		f := newFixture(t, env, "Alpha")
		chat := fmt.Sprintf("/apps/api/v1/chats/%d", f.ChatID)
		var form struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		must(t, env.Do(t, "POST", chat+"/photos/upload", f.Token, nil), 200).JSON(t, &form)
		if form.URL == "" || form.Fields["key"] == "" || form.Fields["policy"] == "" || form.Fields["x-amz-signature"] == "" {
			t.Fatalf("upload form %+v", form)
		}
		png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 3000)...)
		post := func(contentType string, data []byte) int {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range form.Fields {
				if k == "Content-Type" {
					v = contentType // the client's own type replaces the form's
				}
				_ = mw.WriteField(k, v)
			}
			fw, _ := mw.CreateFormFile("file", "p.png")
			_, _ = fw.Write(data)
			_ = mw.Close()
			res, err := http.Post(form.URL, mw.FormDataContentType(), &buf)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if code := post("video/mp4", png); code < 400 {
			t.Fatalf("a video through a photo form: %d", code)
		}
		if code := post("image/png", png); code != 201 && code != 204 {
			t.Fatalf("upload: %d", code)
		}
		var att struct {
			URL     string `json:"url"`
			MediaID int64  `json:"media_id"`
			Media   []struct {
				S3Path string `json:"s3_path"`
			} `json:"media"`
		}
		must(t, env.Do(t, "POST", chat+"/photos", f.Token, map[string]any{"photo": []any{map[string]any{"s3_path": form.Fields["key"], "photo_type": "receipt"}}}), 200).JSON(t, &att)
		if att.MediaID <= 0 || att.URL == "" {
			t.Fatalf("attached %+v", att)
		}
		var list []struct {
			URL     string `json:"url"`
			MediaID int64  `json:"media_id"`
		}
		must(t, env.Do(t, "GET", chat+"/photos", f.Token, nil), 200).JSON(t, &list)
		if len(list) != 1 || list[0].MediaID != att.MediaID {
			t.Fatalf("photos %+v", list)
		}
		res, err := http.Get(list[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(body, png) || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("download: %d %s %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if r := env.Do(t, "POST", chat+"/photos", f.Token, map[string]any{"photo": []any{map[string]any{"s3_path": form.Fields["key"] + "x"}}}); r.Status != 422 {
			t.Fatalf("never uploaded key: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "POST", chat+"/photos", f.Token, map[string]any{"photo": []any{map[string]any{"s3_path": "chats/1/999/photo/x"}}}); r.Status != 422 {
			t.Fatalf("another chat's key: %d %s", r.Status, r.Body)
		}
		must(t, env.Do(t, "GET", chat+"/videos", f.Token, nil), 200)
		var msgs v1Messages
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", f.ChatID), f.Token, nil), 200).JSON(t, &msgs)
		if last := msgs.Messages[len(msgs.Messages)-1]; len(att.Media) != 1 || last.Content != att.Media[0].S3Path {
			t.Fatalf("no photo message: %+v", last)
		}
	})
}
