package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Recorder validates real exchanges with a running server against the
// family's document and records which status each operation gave. A
// request the server accepted (2xx) must be valid for the document too,
// so that the document promises no more than the server takes.
type Recorder struct {
	fam    *Family
	doc    *openapi3.T
	router routers.Router

	// URL and Client are where Do sends its requests.
	URL    string
	Client *http.Client

	mu   sync.Mutex
	seen map[string]map[int]bool // route key -> statuses
}

// NewRecorder returns a recorder of the family's document; URL and Client
// are needed by Do only.
func (f *Family) NewRecorder() (*Recorder, error) {
	doc, err := f.load()
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the %s document: %w", f.Name, err)
	}
	return &Recorder{fam: f, doc: doc, router: router, Client: &http.Client{Timeout: 30 * time.Second}, seen: map[string]map[int]bool{}}, nil
}

// Recorder is NewRecorder for a test, sending to url. Its client is its
// own: not the testenv one, whose transport may validate with another
// recorder.
func (f *Family) Recorder(t testing.TB, url string) *Recorder {
	t.Helper()
	r, err := f.NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	r.URL = url
	return r
}

// Doc is the parsed document.
func (r *Recorder) Doc() *openapi3.T { return r.doc }

// Request is one request of a contract test.
type Request struct {
	Method string
	Path   string // from the server's root, query included
	Auth   string // the Authorization header, if any
	// Body is nil, a string or []byte sent as is, or a value sent as JSON.
	Body any
	// ContentType is the body's type; default application/json.
	ContentType string
	Want        int
}

// Do sends a request, checks its status, validates the exchange and
// returns the response body.
func (r *Recorder) Do(t testing.TB, req Request) []byte {
	t.Helper()
	res, body := r.Send(t, req)
	if res.StatusCode != req.Want {
		t.Errorf("%s %s: status %d, want %d: %.500s", req.Method, req.Path, res.StatusCode, req.Want, body)
	}
	return body
}

// Send is Do without the status check, for a test that waits for a state
// (its status is still validated and recorded).
func (r *Recorder) Send(t testing.TB, req Request) (*http.Response, []byte) {
	t.Helper()
	name := req.Method + " " + req.Path
	var payload []byte
	switch b := req.Body.(type) {
	case nil:
	case string:
		payload = []byte(b)
	case []byte:
		payload = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s: marshal body: %v", name, err)
		}
		payload = j
	}
	var rd io.Reader
	if req.Body != nil {
		rd = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequest(req.Method, r.URL+req.Path, rd)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hreq.Header.Set("Content-Type", ct)
	}
	if req.Auth != "" {
		hreq.Header.Set("Authorization", req.Auth)
	}
	res, err := r.Client.Do(hreq)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s: read body: %v", name, err)
	}
	found, err := r.Check(hreq, payload, res, body)
	if err != nil {
		t.Error(err)
	} else if !found {
		t.Errorf("%s: no operation of the %s document", name, r.fam.Name)
	}
	return res, body
}

// JSON is Do that decodes the response body into v.
func (r *Recorder) JSON(t testing.TB, req Request, v any) {
	t.Helper()
	body := r.Do(t, req)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: response is not the JSON expected: %v\n%s", req.Method, req.Path, err, body)
	}
}

// Check validates one exchange: the response against its operation, and
// for a 2xx the request too. found is false for a request that is no
// operation of the document (another family's, or a method the path does
// not take); nothing is checked then.
func (r *Recorder) Check(req *http.Request, reqBody []byte, res *http.Response, body []byte) (found bool, err error) {
	route, params, err := r.router.FindRoute(req)
	if err != nil {
		return false, nil
	}
	name := req.Method + " " + req.URL.RequestURI()
	var problems []string
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // an undocumented status fails
		MultiError:            true,
	}
	rvi := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: rvi,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		problems = append(problems, fmt.Sprintf("response %d does not match the %s document: %v\n%.2000s", res.StatusCode, r.fam.Name, err, body))
	}
	// ValidateResponse does not look at the body of a response documented
	// without content (204).
	if rr := route.Operation.Responses.Status(res.StatusCode); rr != nil && rr.Value != nil && len(rr.Value.Content) == 0 && len(body) != 0 {
		problems = append(problems, fmt.Sprintf("response %d is documented without a body, got %.300q", res.StatusCode, body))
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		accepted := req.Clone(context.Background())
		reqBody = withoutNulls(reqBody)
		accepted.Body = io.NopCloser(bytes.NewReader(reqBody))
		accepted.GetBody = nil // it would give the body as sent
		if len(reqBody) == 0 {
			accepted.Body = http.NoBody
		} else if accepted.Header.Get("Content-Type") == "" {
			// The families read JSON whatever the header says.
			accepted.Header.Set("Content-Type", "application/json")
		}
		rvi.Request = accepted
		if err := openapi3filter.ValidateRequest(context.Background(), rvi); err != nil {
			problems = append(problems, fmt.Sprintf("the server accepted (%d) a request the %s document does not allow: %v\nbody: %.1000s", res.StatusCode, r.fam.Name, err, reqBody))
		}
	}
	r.mu.Lock()
	key := route.Method + " " + route.Path
	if r.seen[key] == nil {
		r.seen[key] = map[int]bool{}
	}
	r.seen[key][res.StatusCode] = true
	r.mu.Unlock()
	if len(problems) > 0 {
		return true, errors.New(name + ": " + strings.Join(problems, "\n"))
	}
	return true, nil
}

// withoutNulls drops the null members of a JSON body's objects: the
// families decode JSON with encoding/json, for which a null field is the
// same as an absent one, and the documents say so once rather than on
// every field. A body that is not JSON is returned as it is.
func withoutNulls(body []byte) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return body
	}
	var strip func(any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, m := range x {
				if m == nil {
					delete(x, k)
				} else {
					x[k] = strip(m)
				}
			}
		case []any:
			for i := range x {
				x[i] = strip(x[i])
			}
		}
		return v
	}
	out, err := json.Marshal(strip(v))
	if err != nil {
		return body
	}
	return out
}

// Seen reports whether an operation gave a status.
func (r *Recorder) Seen(key string, status int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[key][status]
}

// CheckCoverage fails for every documented response of a route, but 500,
// that no request produced: each route must have had its successes and
// each of its errors validated, and the document must not promise
// statuses the server never gives.
func (r *Recorder) CheckCoverage(t testing.TB) {
	t.Helper()
	total := 0
	for _, rt := range r.fam.Routes {
		op := operation(r.doc, rt)
		if op == nil {
			t.Errorf("%s: %s is not documented", r.fam.Name, rt.Key())
			continue
		}
		var missing []string
		for status := range op.Responses.Map() {
			if status == "500" {
				continue
			}
			total++
			code, _ := strconv.Atoi(status)
			if !r.Seen(rt.Key(), code) {
				missing = append(missing, status)
			}
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("%s: %s: documented responses %s were never produced and validated", r.fam.Name, rt.Key(), strings.Join(missing, ", "))
		}
	}
	t.Logf("%s: validated %d documented responses of %d routes", r.fam.Name, total, len(r.fam.Routes))
}

// Transport wraps next so that every exchange of an operation of the
// document is validated as Check does; one that fails is the request's
// error, which fails the test that sent it. A family's TestMain sets it
// as testenv.Transport, so that all of the package's black-box tests
// validate what they get.
func (r *Recorder) Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		out := req
		if req.Body != nil && req.Body != http.NoBody {
			b, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			reqBody = b
			out = req.Clone(req.Context())
			out.Body = io.NopCloser(bytes.NewReader(b))
		}
		res, err := next.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		if _, _, err := r.router.FindRoute(req); err != nil {
			return res, nil // not this family's
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		if _, err := r.Check(req, reqBody, res, body); err != nil {
			return nil, fmt.Errorf("OpenAPI contract: %w", err)
		}
		return res, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// CheckServed checks that the server serves the document at
// /openapi/<name>.json, byte for byte, and lists it in /openapi/.
func (r *Recorder) CheckServed(t testing.TB) {
	t.Helper()
	get := func(path string) (*http.Response, []byte) {
		res, err := r.Client.Get(r.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return res, b
	}
	path := "/openapi/" + r.fam.Name + ".json"
	res, b := get(path)
	if res.StatusCode != 200 || !bytes.Equal(b, r.fam.Doc) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET %s: status %d, type %q, and the body differs from the embedded document: %v", path, res.StatusCode, res.Header.Get("Content-Type"), !bytes.Equal(b, r.fam.Doc))
	}
	res, b = get("/openapi/")
	var index struct {
		Documents []struct {
			Name  string `json:"name"`
			URL   string `json:"url"`
			Title string `json:"title"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(b, &index); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /openapi/: status %d, %v: %s", res.StatusCode, err, b)
	}
	for _, d := range index.Documents {
		if d.Name == r.fam.Name && d.URL == path && d.Title == r.doc.Info.Title {
			return
		}
	}
	t.Errorf("GET /openapi/ does not list %s (%q at %s): %s", r.fam.Name, r.doc.Info.Title, path, b)
}

// Fill replaces the {parameters} of a path pattern with values, in order.
func Fill(pattern string, values ...string) string {
	var b strings.Builder
	names := pathParams(pattern)
	rest := pattern
	for i, name := range names {
		at := strings.Index(rest, "{"+name+"}")
		b.WriteString(rest[:at])
		if i < len(values) {
			b.WriteString(values[i])
		}
		rest = rest[at+len(name)+2:]
	}
	b.WriteString(rest)
	return b.String()
}
