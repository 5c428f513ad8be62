package localmedia_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// upload is one browser upload: the form's fields with changes (a nil
// value removes a field), the client's own Content-Type (replacing the
// form's; the form's as given if empty), and the file.
type upload struct {
	fields      map[string]string
	change      map[string]*string
	contentType string
	file        []byte
}

func str(s string) *string { return &s }

// post sends the upload as multipart/form-data to url, the file last, as a
// browser would, and returns the status and body.
func (u upload) post(t *testing.T, url string) (int, []byte) {
	t.Helper()
	fields := map[string]string{}
	for k, v := range u.fields {
		fields[k] = v
	}
	if u.contentType != "" {
		delete(fields, "Content-Type")
		fields["Content-Type"] = u.contentType
	}
	for k, v := range u.change {
		if v == nil {
			delete(fields, k)
		} else {
			fields[k] = *v
		}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := mw.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	if u.file != nil {
		fw, err := mw.CreateFormFile("file", "upload.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(u.file); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// get fetches url and returns the response with its body read.
func get(t *testing.T, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// errorBody decodes the local store's JSON error.
func errorBody(t *testing.T, b []byte) (message, code string) {
	t.Helper()
	var e struct{ Message, Code string }
	if err := json.Unmarshal(b, &e); err != nil || e.Message == "" || e.Code == "" {
		t.Fatalf("error body is not {message, code}: %s", b)
	}
	return e.Message, e.Code
}

// files lists the regular files under dir, to show that a rejected upload
// left nothing behind, not even a temporary file.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// clock is a settable clock, safe to read from the server's goroutines.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// payload is n bytes of recognizable content.
func payload(n int) []byte { return bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n] }
