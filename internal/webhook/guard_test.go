package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-cc/parley"
)

// stubResolver answers names from a table, as DNS would.
type stubResolver map[string][]string

func (r stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range r[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	res := stubResolver{
		"hooks.example.com": {"93.184.216.34"},
		"internal.example":  {"10.1.2.3"},
		"mixed.example":     {"93.184.216.34", "127.0.0.1"},
	}
	ok := map[string]string{
		"https://hooks.example.com/parley":       "https://hooks.example.com/parley",
		"HTTPS://hooks.example.com:8443/a?b=c":   "https://hooks.example.com:8443/a?b=c",
		"  http://93.184.216.34/x  ":             "http://93.184.216.34/x",
		"http://[2001:4860::8888]:8080/receiver": "http://[2001:4860::8888]:8080/receiver",
	}
	for in, want := range ok {
		got, err := CheckURL(ctx, in, false, res)
		if err != nil || got != want {
			t.Errorf("CheckURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                   "is required",
		"hooks.example.com/x":                "http or https",
		"ftp://hooks.example.com/":           "http or https",
		"javascript:alert(1)":                "http or https",
		"http:///path":                       "host",
		"https://user:pw@hooks.example.com/": "credentials",
		"https://hooks.example.com/#frag":    "fragment",
		"https://hooks.example.com:0/":       "port",
		"http://127.0.0.1/hook":              "loopback",
		"http://127.0.0.1:8080/hook":         "loopback",
		"http://10.0.0.1/":                   "private",
		"http://[::1]/":                      "loopback",
		"http://[::ffff:10.0.0.1]/":          "private",
		"http://169.254.169.254/latest":      "link-local",
		"http://0.0.0.0/":                    "unspecified",
		"http://100.64.1.1/":                 "CGNAT",
		"http://localhost:8080/":             "localhost",
		"http://api.localhost/":              "localhost",
		"http://internal.example/":           "public addresses only",
		"http://mixed.example/":              "public addresses only",
		"http://nowhere.example/":            "public addresses only",
		"http://[::7f00:1]/":                 "reserved",        // IPv4-compatible ::127.0.0.1
		"http://[::ffff:0:7f00:1]/":          "translated IPv4", // SIIT
		"http://[64:ff9b:1::a00:1]/":         "private",         // local-use NAT64
		"http://a\x00b.example/":             "NUL",
		"https://" + strings.Repeat("a", MaxURL) + ".example/": "at most",
	}
	for in, want := range bad {
		_, err := CheckURL(ctx, in, false, res)
		if err == nil {
			t.Errorf("CheckURL(%q) accepted", in)
			continue
		}
		if parley.ErrorCode(err) != parley.EINVALID || parley.ErrorFields(err)["url"] == "" {
			t.Errorf("CheckURL(%q): %v is not a field error on url", in, err)
		}
		if !strings.Contains(parley.ErrorMessage(err), want) {
			t.Errorf("CheckURL(%q): %q does not mention %q", in, parley.ErrorMessage(err), want)
		}
		// What a name resolved to is never shown (internal DNS probing).
		for _, leak := range []string{"10.1.2.3", "127.0.0.1"} {
			if !strings.Contains(in, leak) && strings.Contains(parley.ErrorMessage(err), leak) {
				t.Errorf("CheckURL(%q): %q reveals %s", in, parley.ErrorMessage(err), leak)
			}
		}
	}
	// AllowPrivate accepts internal receivers but still checks the shape.
	for _, in := range []string{"http://127.0.0.1:9/x", "http://10.0.0.1/", "http://[::1]/", "http://localhost/"} {
		if _, err := CheckURL(ctx, in, true, res); err != nil {
			t.Errorf("CheckURL(%q, allowPrivate): %v", in, err)
		}
	}
	if _, err := CheckURL(ctx, "ftp://127.0.0.1/", true, res); err == nil {
		t.Errorf("allowPrivate accepted an ftp URL")
	}
}

// The client refuses internal addresses when it connects, whatever the
// name resolved to when the webhook was saved.
func TestClientRefusesInternalAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	_, err := NewClient(false, 5*time.Second).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err == nil || !strings.Contains(err.Error(), "connection refused by Parley") {
		t.Fatalf("guarded client: err = %v", err)
	}
	// A name is resolved before the dial, so it is refused the same way.
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := NewClient(false, 5*time.Second).Get(local); err == nil || !strings.Contains(err.Error(), "connection refused by Parley") {
		t.Fatalf("guarded client via localhost: err = %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the receiver was reached %d times", hits.Load())
	}
	res, err := NewClient(true, 5*time.Second).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allowPrivate client: %v", err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("allowPrivate client: %d hits", hits.Load())
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer srv.Close()
	res, err := NewClient(true, 5*time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("status %d: the redirect was followed", res.StatusCode)
	}
}

func TestBackoff(t *testing.T) {
	d := &Dispatcher{Backoff: 5 * time.Second, MaxBackoff: time.Hour}
	for n := 1; n <= 60; n++ {
		full := time.Hour
		if n < 12 {
			full = min(time.Hour, 5*time.Second<<(n-1))
		}
		for range 20 {
			got := d.backoff(n)
			if got < full/2 || got > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, full/2, full)
			}
		}
	}
}

func TestEvents(t *testing.T) {
	evs, err := ValidEvents([]string{"chat.created", " chat.created ", "message.*", "*", "call.finished"})
	if err != nil || strings.Join(evs, ",") != "chat.created,message.*,*,call.finished" {
		t.Fatalf("ValidEvents = %v, %v", evs, err)
	}
	for _, bad := range [][]string{nil, {}, {""}, {"chat..created"}, {"chat.*.x"}, {"**"}, {"a b"}, {"chat.created\x00"},
		{strings.Repeat("a", MaxEventType+1)}, make([]string, MaxEvents+1)} {
		if _, err := ValidEvents(bad); err == nil || parley.ErrorFields(err)["events"] == "" {
			t.Errorf("ValidEvents(%q) = %v, want a field error", bad, err)
		}
	}
	cases := []struct {
		pats []string
		typ  string
		want bool
	}{
		{[]string{"*"}, "chat.created", true},
		{[]string{"chat.created"}, "chat.created", true},
		{[]string{"chat.created"}, "chat.status", false},
		{[]string{"chat.*"}, "chat.status", true},
		{[]string{"chat.*"}, "chat", false},
		{[]string{"chat.*"}, "chatter.x", false},
		{[]string{"dialog.finished", "call.*"}, "call.finished", true},
		{[]string{"dialog.finished"}, "message.created", false},
	}
	for _, c := range cases {
		if got := Matches(c.pats, c.typ); got != c.want {
			t.Errorf("Matches(%v, %q) = %v", c.pats, c.typ, got)
		}
	}
}

func TestSign(t *testing.T) {
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test
	const want = "sha256=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
	if got := Sign("whsec_test", 1700000000, []byte("{}")); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}
