package widget_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

type uploadForm struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// postForm posts a form as given, then the file.
func postForm(t *testing.T, f uploadForm, file []byte) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range f.Fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "p.png")
	_, _ = fw.Write(file)
	_ = mw.Close()
	res, err := http.Post(f.URL, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	return b
}

func visit(t *testing.T, env *testenv.Env, project, visitor string) (session, string) {
	t.Helper()
	var s session
	must(t, env.Do(t, "POST", "/v1/widget/projects/"+project+"/chats", "", map[string]any{"visitor_id": visitor}), 201).JSON(t, &s)
	return s, fmt.Sprintf("/v1/widget/projects/%s/chats/%d", project, s.ChatID)
}

// TestUploadQuotas: anonymous visitors cannot fill the disk: forms count
// against the chat's and the company's quotas (files, and bytes: a pending
// form reserves its maximum, an attached photo its size), refused with
// 413 past them, and freed by the janitor once they expired unused.
func TestUploadQuotas(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true, Configure: func(c *server.Config) {
			c.Uploads = chat.UploadLimits{ChatFiles: 3, ChatBytes: 25 << 20, CompanyFiles: 4}
		}})
		tn := env.NewTenant(t, "Shop")
		p := project(t, env, tn)
		a, chatA := visit(t, env, p, "visitor-aaaaaaaaaaaaaaaa")
		b, chatB := visit(t, env, p, "visitor-bbbbbbbbbbbbbbbb")
		form := func(token, chatPath string) *testenv.Response {
			return env.Do(t, "POST", chatPath+"/photos/upload", token, nil)
		}
		// Bytes: a photo form reserves 10 MiB; the chat holds 25.
		var f1 uploadForm
		must(t, form(a.Token, chatA), 200).JSON(t, &f1)
		must(t, form(a.Token, chatA), 200)
		if r := form(a.Token, chatA); r.Status != 413 || code(t, r) != parley.ETOOLARGE {
			t.Fatalf("a third photo form (30 MiB reserved of 25): %d %s", r.Status, r.Body)
		}
		// Attached, a photo counts its size: room again, up to 3 files.
		png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 3000)...)
		if st := postForm(t, f1, png); st != 201 {
			t.Fatalf("upload: %d", st)
		}
		must(t, env.Do(t, "POST", chatA+"/photos", a.Token, map[string]any{"key": f1.Fields["key"]}), 201)
		must(t, form(a.Token, chatA), 200)
		if r := form(a.Token, chatA); r.Status != 413 {
			t.Fatalf("a fourth upload of a chat that holds 3: %d %s", r.Status, r.Body)
		}
		// Files: the company holds 4; chat A has 3.
		must(t, form(b.Token, chatB), 200)
		if r := form(b.Token, chatB); r.Status != 413 || !strings.Contains(string(r.Body), "company") {
			t.Fatalf("a fifth upload of a company that holds 4: %d %s", r.Status, r.Body)
		}
		// Forms that expired unused still count until the janitor clears
		// them (their objects may be on disk until then); then only the
		// attached photo counts.
		later := time.Now().Add(chat.UploadExpiry + chat.AttachWindow + time.Minute)
		env.Chats.Now = func() time.Time { return later }
		if r := form(b.Token, chatB); r.Status != 413 {
			t.Fatalf("a form while expired ones are not cleared yet: %d %s", r.Status, r.Body)
		}
		pg, err := env.Purge(context.Background(), later)
		if err != nil || pg.Uploads.Expired != 3 {
			t.Fatalf("purge: %+v, %v; want the 3 unused forms", pg.Uploads, err)
		}
		must(t, form(b.Token, chatB), 200)
		must(t, form(a.Token, chatA), 200)
	})
}

// TestUploadKeyServesOnce: an upload form's key is attached once; posting
// the form again after the attach does not change the attached photo; the
// janitor removes a form's expired object, and objects under chats/ or
// recordings/ that nothing names, but not what is attached or recorded.
func TestUploadKeyServesOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Shop")
		p := project(t, env, tn)
		a, chatA := visit(t, env, p, "visitor-aaaaaaaaaaaaaaaa")
		var f uploadForm
		must(t, env.Do(t, "POST", chatA+"/photos/upload", a.Token, nil), 200).JSON(t, &f)
		first := append([]byte("\x89PNG\r\n\x1a\nfirst"), bytes.Repeat([]byte{1}, 3000)...)
		if st := postForm(t, f, first); st != 201 {
			t.Fatalf("upload: %d", st)
		}
		var att struct {
			URL string `json:"url"`
		}
		must(t, env.Do(t, "POST", chatA+"/photos", a.Token, map[string]any{"key": f.Fields["key"]}), 201).JSON(t, &att)
		if r := env.Do(t, "POST", chatA+"/photos", a.Token, map[string]any{"key": f.Fields["key"]}); r.Status != 409 {
			t.Fatalf("the same key attached twice: %d %s", r.Status, r.Body)
		}
		// The form is still valid at the store: a second post is taken,
		// and changes nothing of what was attached.
		if st := postForm(t, f, []byte("\x89PNG\r\n\x1a\nreplaced")); st != 201 {
			t.Fatalf("second post of the form: %d", st)
		}
		if got := fetch(t, att.URL); !bytes.Equal(got, first) {
			t.Fatalf("the attached photo changed after the form was posted again: %q", got[:20])
		}
		if r := env.Do(t, "POST", chatA+"/photos", a.Token, map[string]any{"key": f.Fields["key"]}); r.Status != 409 {
			t.Fatalf("the re-posted key attached: %d %s", r.Status, r.Body)
		}
		var list struct {
			Messages []struct {
				Type string `json:"type"`
				URL  string `json:"url"`
			} `json:"messages"`
		}
		must(t, env.Do(t, "GET", chatA+"/messages", a.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 1 || list.Messages[0].Type != "photo" {
			t.Fatalf("messages %+v", list.Messages)
		}

		// An unattached upload, a stray object under the chat, a recording
		// no call names: the janitor removes them in their time.
		var unused uploadForm
		must(t, env.Do(t, "POST", chatA+"/photos/upload", a.Token, nil), 200).JSON(t, &unused)
		if st := postForm(t, unused, first); st != 201 {
			t.Fatalf("upload: %d", st)
		}
		ctx := context.Background()
		stray := chat.MediaPrefix(tn.CompanyID, a.ChatID, chat.MediaPhoto) + "kept/stray"
		orphanRec := fmt.Sprintf("recordings/%d/00000000-0000-4000-8000-000000000001.wav", tn.CompanyID)
		for _, k := range []string{stray, orphanRec} {
			if err := env.Media.Put(ctx, k, bytes.NewReader(first), int64(len(first)), "image/png"); err != nil {
				t.Fatal(err)
			}
		}
		exists := func(key string) bool {
			_, err := env.Media.Stat(ctx, key)
			if err != nil && parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Fatal(err)
			}
			return err == nil
		}
		// Before their time, nothing goes.
		if pg, err := env.Purge(ctx, time.Now()); err != nil || pg.Uploads != (chat.PurgedUploads{}) {
			t.Fatalf("early purge: %+v, %v", pg.Uploads, err)
		}
		if o, err := env.SweepOrphans(ctx, time.Now()); err != nil || o.ChatMedia+o.Recordings != 0 {
			t.Fatalf("early sweep: %+v, %v", o, err)
		}
		later := time.Now().Add(chat.UploadExpiry + chat.AttachWindow + time.Minute)
		pg, err := env.Purge(ctx, later)
		if err != nil || pg.Uploads.Expired != 1 || pg.Uploads.Swept != 1 {
			t.Fatalf("purge: %+v, %v; want the unused form and the re-posted one", pg.Uploads, err)
		}
		if exists(unused.Fields["key"]) || exists(f.Fields["key"]) {
			t.Fatal("the forms' objects outlived the purge")
		}
		if r := env.Do(t, "POST", chatA+"/photos", a.Token, map[string]any{"key": unused.Fields["key"]}); r.Status != 400 {
			t.Fatalf("a purged form attached: %d %s", r.Status, r.Body)
		}
		o, err := env.SweepOrphans(ctx, time.Now().Add(25*time.Hour))
		if err != nil || o.ChatMedia != 1 || o.Recordings != 1 || exists(stray) || exists(orphanRec) {
			t.Fatalf("orphan sweep: %+v, %v", o, err)
		}
		if got := fetch(t, att.URL); !bytes.Equal(got, first) {
			t.Fatal("the attached photo went with the orphans")
		}
	})
}
