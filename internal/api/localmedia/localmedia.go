// Package localmedia is the HTTP side of the local media store
// (internal/media's Local): the S3-style browser upload its presigned
// forms point at, and the downloads of its signed URLs. The store signs
// and checks; this package reads and writes HTTP.
package localmedia

import (
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/media"
)

// Handler serves a local store's upload and download routes.
type Handler struct {
	Store *media.Local
	Log   *slog.Logger
}

// Register mounts the routes on mux. There is no family body limit here:
// an upload's signed policy bounds its body.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Log == nil {
		h.Log = slog.Default()
	}
	api.Route(mux, media.UploadRoute, http.HandlerFunc(h.ServeUpload))
	api.Route(mux, media.FilesRoute, http.HandlerFunc(h.ServeFile))
}

// Bounds of the form fields before the file; the file itself is bounded by
// its policy.
const (
	maxFields     = 32
	maxFieldBytes = 16 << 10
	// formBudget is how much of the body may come before the policy is
	// known; once it is, the file's maximum is added.
	formBudget = 1 << 20
	// idleTimeout cuts a transfer that makes no progress. It replaces the
	// server's whole-request timeouts, which a large file on a slow link
	// would exceed while still moving.
	idleTimeout = 60 * time.Second
	// How long and how much of a rejected body linger drains.
	lingerTime  = 10 * time.Second
	lingerBytes = 64 << 20
)

// ServeUpload takes an S3-style browser upload (multipart/form-data, the
// file last): it checks the policy's signature, expiry and conditions
// before reading the file, streams the file to disk within the policy's
// size range, and answers like S3: 201 with an XML PostResponse when the
// form asks for success_action_status 201, 200 for 200, else 204.
func (h *Handler) ServeUpload(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// An early answer (a bad signature, a file over its limit) is sent
	// while the client still sends; see linger.
	_ = rc.EnableFullDuplex()
	raw := r.Body
	if err := h.upload(w, r, rc); err != nil {
		w.Header().Set("Connection", "close")
		h.writeError(w, r, err)
		linger(rc, raw)
	}
}

// linger reads and drops what is left of a rejected body, within a bound of
// time and size, before the connection closes: closing a socket with unread
// data resets it, and a client still sending (most read the answer only
// once they have sent everything) would get the reset instead of the
// answer. nginx's lingering close does the same.
func linger(rc *http.ResponseController, body io.Reader) {
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, body, lingerBytes)
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) error {
	body := &budgetReader{r: r.Body, left: formBudget, rc: rc}
	body.extend()
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		return parley.Errorf(parley.EMALFORMED, "The body must be multipart/form-data.")
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return parley.FieldError("file", "is required, as the last field")
		} else if err != nil {
			return body.failure(err)
		}
		name := strings.ToLower(part.FormName())
		if name == "file" {
			return h.receive(w, fields, part, body)
		}
		if name == "" {
			return parley.Errorf(parley.EMALFORMED, "Every part must be a named form field.")
		}
		if len(fields) >= maxFields {
			return parley.Errorf(parley.EINVALID, "The form has more than %d fields.", maxFields)
		}
		if _, dup := fields[name]; dup {
			return parley.FieldError(name, "is given twice")
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return body.failure(err)
		}
		if len(v) > maxFieldBytes {
			return parley.FieldError(name, "is longer than %d bytes", maxFieldBytes)
		}
		fields[name] = string(v)
	}
}

// receive checks the form and stores the file.
func (h *Handler) receive(w http.ResponseWriter, fields map[string]string, file *multipart.Part, body *budgetReader) error {
	up, err := h.Store.CheckPost(fields)
	if err != nil {
		return err
	}
	// Room for the file plus the multipart framing after it.
	body.left += up.MaxSize + 64<<10
	src := &readTracker{r: file}
	n, etag, err := h.Store.Receive(up, src)
	if err != nil {
		if src.err != nil && src.err != io.EOF {
			return body.failure(src.err)
		}
		return err
	}
	h.Log.Debug("media uploaded", "key", up.Key, "bytes", n, "content_type", up.ContentType)
	w.Header().Set("ETag", `"`+etag+`"`)
	switch fields["success_action_status"] {
	case "201":
		location, _ := h.Store.FileURL(up.Key)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusCreated)
		out, _ := xml.Marshal(postResponse{Location: location, Bucket: "media", Key: up.Key, ETag: `"` + etag + `"`})
		_, _ = w.Write(append([]byte(xml.Header), out...))
	case "200":
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// postResponse is S3's answer to a browser upload with status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// ServeFile answers GET /media/files/{key...}?expires=UNIX&signature=HEX
// with the object, only while the URL's signature holds: 403 for a bad or
// expired signature, 404 for a missing object. Ranges and conditional
// requests work as for any static file.
func (h *Handler) ServeFile(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	q := r.URL.Query()
	left, err := h.Store.CheckURL(key, q.Get("expires"), q.Get("signature"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	f, info, err := h.Store.OpenFile(key)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	header := w.Header()
	header.Set("Content-Type", info.ContentType)
	header.Set("Cache-Control", "private, max-age="+strconv.FormatInt(int64(left/time.Second), 10))
	// Uploaded files come from strangers and are served from the API's own
	// origin: never let a browser run them as a page.
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	http.ServeContent(&progressWriter{ResponseWriter: w, rc: http.NewResponseController(w)}, r, "", st.ModTime(), f)
}

// writeError answers {"message", "code"} with the code's status.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, _ := api.NoteError(h.Log, r, err)
	api.WriteJSON(w, api.HTTPStatus(code), map[string]string{"message": parley.ErrorMessage(err), "code": code})
}

// budgetReader bounds a request body by a budget that grows once the policy
// says how large the file may be, and keeps the connection's deadlines
// moving while bytes arrive.
type budgetReader struct {
	r        io.ReadCloser
	left     int64
	exceeded bool
	rc       *http.ResponseController
	extended time.Time
}

var errBudget = errors.New("media: request body over its limit")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.exceeded = true
		return 0, errBudget
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if n > 0 && time.Since(b.extended) > idleTimeout/10 {
		b.extend()
	}
	return n, err
}

func (b *budgetReader) Close() error { return b.r.Close() }

// extend pushes the deadlines back; writers without deadlines (tests'
// recorders) just keep theirs.
func (b *budgetReader) extend() {
	b.extended = time.Now()
	_ = b.rc.SetReadDeadline(b.extended.Add(idleTimeout))
	_ = b.rc.SetWriteDeadline(b.extended.Add(2 * idleTimeout))
}

// failure classifies an error met while reading the body: the client's
// doing, a truncated or malformed body, unless the budget ran out.
func (b *budgetReader) failure(err error) error {
	if b.exceeded {
		return parley.Errorf(parley.ETOOLARGE, "The request body is larger than the policy allows.")
	}
	return parley.Errorf(parley.EMALFORMED, "The multipart body is malformed or truncated.")
}

// readTracker remembers the error of the file's reader, which tells the
// client's faults (a broken body) from ours (a full disk).
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

// progressWriter keeps the write deadline moving while a download
// progresses, for files too large to send within the server's timeout.
type progressWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	extended time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if time.Since(p.extended) > idleTimeout/10 {
		p.extended = time.Now()
		_ = p.rc.SetWriteDeadline(p.extended.Add(idleTimeout))
	}
	return p.ResponseWriter.Write(b)
}

func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
