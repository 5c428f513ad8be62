package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// runWith runs the binary with exactly env (and PATH), in a temporary
// directory, and returns stdout, stderr and the exit code.
func runWith(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(parleyBinary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Dir = t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("parley %v did not exit: %s %s", args, o.String(), e.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run parley %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// TestHelpEverywhere: -h and --help (and "help") print the usage on stdout
// and exit 0 on every command and admin subcommand; a command line that
// does not parse exits 2 with the usage on stderr.
func TestHelpEverywhere(t *testing.T) {
	cmds := [][]string{{}, {"serve"}, {"demo"}, {"migrate"}, {"version"}, {"admin"}}
	for _, a := range adminCommands {
		cmds = append(cmds, []string{"admin", a.name})
	}
	for _, c := range cmds {
		for _, h := range []string{"-h", "--help", "-help"} {
			args := append(slices.Clone(c), h)
			out, errOut, code := runWith(t, nil, args...)
			if code != 0 || !strings.Contains(out, "Usage:") || errOut != "" {
				t.Errorf("parley %s: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", strings.Join(args, " "), code, out, errOut)
			}
			if len(c) > 0 && !strings.Contains(out, "parley "+strings.Join(c, " ")) {
				t.Errorf("parley %s: the usage does not name the command: %q", strings.Join(args, " "), out)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "serve"}, {"help", "admin"}, {"help", "admin", "reset-password"}, {"admin", "help"}} {
		if out, _, code := runWith(t, nil, args...); code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("parley %v: exit %d, %q", args, code, out)
		}
	}
	for _, args := range [][]string{{}, {"nonsense"}, {"serve", "--bogus"}, {"serve", "extra"}, {"admin"}, {"admin", "frobnicate"},
		{"admin", "list-users", "--bogus"}, {"version", "extra"}} {
		out, errOut, code := runWith(t, nil, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage:") {
			t.Errorf("parley %v: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", args, code, out, errOut)
		}
	}
}

// TestVersion: the version comes from the build information.
func TestVersion(t *testing.T) {
	out, errOut, code := runWith(t, nil, "version")
	want := regexp.MustCompile(`^parley \S+( \(revision [0-9a-f]+[^)]*\))? ` + regexp.QuoteMeta(runtime.Version()) + ` ` + runtime.GOOS + `/` + runtime.GOARCH + "\n$")
	if code != 0 || errOut != "" || !want.MatchString(out) {
		t.Fatalf("parley version: exit %d, %q %q; want a line matching %s", code, out, errOut, want)
	}
}

// TestBadSettingsRefused: a setting that does not parse stops serve at
// start with the variable's name, before anything is opened; every
// PARLEY_ variable cmd/parley reads has a case here, or is free text.
func TestBadSettingsRefused(t *testing.T) {
	bad := []struct {
		name string // the variable the error must name
		env  []string
	}{
		{"PARLEY_LOG_LEVEL", []string{"PARLEY_LOG_LEVEL=bogus"}},
		{"PARLEY_LOG_FORMAT", []string{"PARLEY_LOG_FORMAT=yaml"}},
		{"PARLEY_ADDR", []string{"PARLEY_ADDR=localhost"}},
		{"PARLEY_ADDR", []string{"PARLEY_ADDR=127.0.0.1:99999"}},
		{"PARLEY_DB", []string{"PARLEY_DB=mysql://root@localhost/parley"}},
		{"PARLEY_LEASE", []string{"PARLEY_LEASE=5ms"}},
		{"PARLEY_CHAT_TIMEOUT", []string{"PARLEY_CHAT_TIMEOUT=soon"}},
		{"PARLEY_CHAT_INACTIVITY", []string{"PARLEY_CHAT_INACTIVITY=-1m"}},
		{"PARLEY_SIM_PACE", []string{"PARLEY_SIM_PACE=fast"}},
		{"PARLEY_SIM_TTS", []string{"PARLEY_SIM_TTS=loud"}},
		{"PARLEY_WEBHOOK_ALLOW_PRIVATE", []string{"PARLEY_WEBHOOK_ALLOW_PRIVATE=yes"}},
		{"PARLEY_NATS_URL", []string{"PARLEY_NATS_URL=http://127.0.0.1:4222"}},
		{"PARLEY_NATS_SUBJECT", []string{"PARLEY_NATS_SUBJECT=parley.*"}},
		{"PARLEY_PUBLIC_URL", []string{"PARLEY_PUBLIC_URL=ftp://example.com"}},
		{"PARLEY_MEDIA_BACKEND", []string{"PARLEY_MEDIA_BACKEND=tape"}},
		{"PARLEY_S3_ENDPOINT", []string{"PARLEY_MEDIA_BACKEND=s3", "PARLEY_S3_ENDPOINT=", "PARLEY_S3_BUCKET=b", "PARLEY_S3_ACCESS_KEY=a", "PARLEY_S3_SECRET_KEY=s"}},
		{"PARLEY_S3_BUCKET", []string{"PARLEY_MEDIA_BACKEND=s3", "PARLEY_S3_ENDPOINT=e:9000", "PARLEY_S3_BUCKET=", "PARLEY_S3_ACCESS_KEY=a", "PARLEY_S3_SECRET_KEY=s"}},
		{"PARLEY_S3_ACCESS_KEY", []string{"PARLEY_MEDIA_BACKEND=s3", "PARLEY_S3_ENDPOINT=e:9000", "PARLEY_S3_BUCKET=b", "PARLEY_S3_ACCESS_KEY=", "PARLEY_S3_SECRET_KEY=s"}},
		{"PARLEY_S3_SECRET_KEY", []string{"PARLEY_MEDIA_BACKEND=s3", "PARLEY_S3_ENDPOINT=e:9000", "PARLEY_S3_BUCKET=b", "PARLEY_S3_ACCESS_KEY=a", "PARLEY_S3_SECRET_KEY="}},
		{"PARLEY_S3_SECURE", []string{"PARLEY_MEDIA_BACKEND=s3", "PARLEY_S3_SECURE=maybe"}},
		{"PARLEY_PUBLIC_IP", []string{"PARLEY_PUBLIC_IP=example.com"}},
		{"PARLEY_RTC_UDP_PORT", []string{"PARLEY_RTC_UDP_PORT=70000"}},
		{"PARLEY_RTC_UDP_PORTS", []string{"PARLEY_RTC_UDP_PORTS=9-1"}},
		{"PARLEY_RTC_LOOPBACK", []string{"PARLEY_RTC_LOOPBACK=maybe"}},
		{"PARLEY_RTC_MAX_PEERS", []string{"PARLEY_RTC_MAX_PEERS=0"}},
		{"PARLEY_VOICE_END_SILENCE", []string{"PARLEY_VOICE_END_SILENCE=10ms"}},
		{"PARLEY_VOICE_GRAMMAR_SILENCE", []string{"PARLEY_VOICE_GRAMMAR_SILENCE=soon"}},
		{"PARLEY_VOICE_GRAMMAR_SILENCE", []string{"PARLEY_VOICE_GRAMMAR_SILENCE=900ms", "PARLEY_VOICE_END_SILENCE=500ms"}},
		{"PARLEY_VOICE_STABLE_SILENCE", []string{"PARLEY_VOICE_STABLE_SILENCE=never"}},
		{"PARLEY_VOICE_STABLE_SILENCE", []string{"PARLEY_VOICE_STABLE_SILENCE=10ms"}},
		{"PARLEY_VOICE_STABLE_SILENCE", []string{"PARLEY_VOICE_STABLE_SILENCE=700ms"}},
		{"PARLEY_VOICE_JITTER_MIN", []string{"PARLEY_VOICE_JITTER_MIN=5ms"}},
		{"PARLEY_ASR", []string{"PARLEY_ASR=whisper"}},
		{"PARLEY_VOICE_NICE", []string{"PARLEY_VOICE_NICE=-40"}},
		{"PARLEY_ASR_DECODERS", []string{"PARLEY_ASR_DECODERS=0"}},
		{"PARLEY_TTS_CACHE_MB", []string{"PARLEY_TTS_CACHE_MB=-1"}},
		{"PARLEY_TTS_STORE_MB", []string{"PARLEY_TTS_STORE_MB=lots"}},
		{"PARLEY_METRICS_ADDR", []string{"PARLEY_METRICS_ADDR=metrics"}},
		{"PARLEY_METRICS_TOKEN", []string{"PARLEY_METRICS_TOKEN=short"}},
		{"PARLEY_LOGIN_FAILURES_PER_LOGIN", []string{"PARLEY_LOGIN_FAILURES_PER_LOGIN=many"}},
		{"PARLEY_LOGIN_FAILURES_PER_CLIENT", []string{"PARLEY_LOGIN_FAILURES_PER_CLIENT=-1"}},
		{"PARLEY_LOGIN_BACKOFF_MAX", []string{"PARLEY_LOGIN_BACKOFF_MAX=forever"}},
		{"PARLEY_PASSWORD_HASHES", []string{"PARLEY_PASSWORD_HASHES=0"}},
		{"PARLEY_PASSWORD_HASH_QUEUE", []string{"PARLEY_PASSWORD_HASH_QUEUE=x"}},
		{"PARLEY_SCRIPT_MAX_ALLOC", []string{"PARLEY_SCRIPT_MAX_ALLOC=1KiB"}},
		{"PARLEY_SCRIPT_MAX_RUN_STEPS", []string{"PARLEY_SCRIPT_MAX_RUN_STEPS=10"}},
		{"PARLEY_STREAM_USER_CONNS", []string{"PARLEY_STREAM_USER_CONNS=lots"}},
		{"PARLEY_UPLOAD_CHAT_FILES", []string{"PARLEY_UPLOAD_CHAT_FILES=-5"}},
		{"PARLEY_UPLOAD_COMPANY_FILES", []string{"PARLEY_UPLOAD_COMPANY_FILES=x"}},
		{"PARLEY_UPLOAD_CHAT_BYTES", []string{"PARLEY_UPLOAD_CHAT_BYTES=big"}},
		{"PARLEY_UPLOAD_COMPANY_BYTES", []string{"PARLEY_UPLOAD_COMPANY_BYTES=12parsecs"}},
		{"PARLEY_TRUNK_ALLOW_PRIVATE", []string{"PARLEY_TRUNK_ALLOW_PRIVATE=sure"}},
		{"PARLEY_DIALER_MAX_CALLS", []string{"PARLEY_DIALER_MAX_CALLS=0"}},
		{"PARLEY_IMPORT_CPU", []string{"PARLEY_IMPORT_CPU=0"}},
		{"PARLEY_IMPORT_CPU", []string{"PARLEY_IMPORT_CPU=2"}},
		{"PARLEY_DIALER_MAX_CALLS", []string{"PARLEY_DIALER_MAX_CALLS=lots"}},
		{"PARLEY_MAX_CHANNEL_LIMIT", []string{"PARLEY_MAX_CHANNEL_LIMIT=100001"}},
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	checked := map[string]bool{}
	for _, c := range bad {
		name := c.name
		checked[name] = true
		for _, command := range []string{"serve", "demo"} {
			_, errOut, code := runWith(t, append([]string{"PARLEY_DATA_DIR=" + dataDir}, c.env...), command)
			if code == 0 || !strings.Contains(errOut, name) {
				t.Errorf("parley %s with %v: exit %d, stderr %q; want a failure naming %s", command, c.env, code, errOut, name)
			}
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("refused settings still created the data directory %s", dataDir)
	}
	// A bad flag value is named by the flag.
	if _, errOut, code := runWith(t, nil, "serve", "--addr", "nowhere"); code == 0 || !strings.Contains(errOut, "--addr") {
		t.Errorf("serve --addr nowhere: exit %d, %q", code, errOut)
	}

	// Every variable cmd/parley reads is documented, and checked above
	// unless it is free text.
	freeText := map[string]bool{"PARLEY_DATA_DIR": true, "PARLEY_S3_REGION": true}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(PARLEY_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
			name := m[1]
			if !checked[name] && !freeText[name] {
				t.Errorf("%s reads %s, which TestBadSettingsRefused never sets to a bad value (add a case, or list it as free text)", f, name)
			}
			if !strings.Contains(usageTail, name) {
				t.Errorf("%s reads %s, which parley help does not document", f, name)
			}
		}
	}
}

// TestUnknownSettingWarned: a PARLEY_ variable nobody reads (a typo) is
// named in a warning at start.
func TestUnknownSettingWarned(t *testing.T) {
	got := unknownSettings([]string{"PARLEY_LOG_LEVLE=debug", "PARLEY_LOG_LEVEL=info", "PARLEY_TEST_PG=x", "HOME=/root", "PARLEY_RTC_UDP_PORTS=1-2"})
	if !slices.Equal(got, []string{"PARLEY_LOG_LEVLE"}) {
		t.Errorf("unknownSettings = %v, want [PARLEY_LOG_LEVLE]", got)
	}
}

// TestListUsersAndResetPassword: list-users shows who can log in; after
// reset-password the new password logs in, the old one does not, and the
// refresh tokens issued before are revoked.
func TestListUsersAndResetPassword(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		c := adminJSON(t, dsn, "create-company", "--name", "Acme")
		cu := c["company_uuid"].(string)
		other := adminJSON(t, dsn, "create-company", "--name", "Other")["company_uuid"].(string)
		adminJSON(t, dsn, "create-user", "--company", cu, "--login", "api1", "--password", "old-password-1", "--role", "api")
		adminJSON(t, dsn, "create-user", "--company", cu, "--login", "op1", "--password", "old-password-1", "--role", "operator")
		adminJSON(t, dsn, "create-user", "--company", other, "--login", "else", "--password", "old-password-1", "--role", "admin")

		type listing struct {
			Users []struct {
				Login       string `json:"login"`
				Role        string `json:"role"`
				CompanyUUID string `json:"company_uuid"`
				CompanyName string `json:"company_name"`
				OperatorID  *int64 `json:"operator_id"`
			} `json:"users"`
		}
		var all, one listing
		b, _ := json.Marshal(adminJSON(t, dsn, "list-users"))
		_ = json.Unmarshal(b, &all)
		b, _ = json.Marshal(adminJSON(t, dsn, "list-users", "--company", cu))
		_ = json.Unmarshal(b, &one)
		if len(all.Users) != 3 || len(one.Users) != 2 || one.Users[0].Login != "api1" || one.Users[0].Role != "api" ||
			one.Users[1].Login != "op1" || one.Users[1].OperatorID == nil || one.Users[0].CompanyName != "Acme" || one.Users[0].CompanyUUID != cu {
			t.Fatalf("list-users: all %+v, one company %+v", all, one)
		}

		_, base := startServe(t, dsn)
		req, _ := http.NewRequest("POST", base+"/api/v2/ext/auth", nil)
		req.SetBasicAuth("api1", "old-password-1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var pair struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.NewDecoder(res.Body).Decode(&pair)
		res.Body.Close()

		r := adminJSON(t, dsn, "reset-password", "--login", "api1", "--password", "new-password-2")
		if r["login"] != "api1" || r["user_uuid"] == "" {
			t.Fatalf("reset-password: %v", r)
		}
		loginHTTP(t, base, "api1", "new-password-2")
		req, _ = http.NewRequest("POST", base+"/api/v2/ext/auth", nil)
		req.SetBasicAuth("api1", "old-password-1")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 422 {
			t.Fatalf("the old password after a reset: %v %v", err, res)
		}
		res, err = http.Post(base+"/api/v2/ext/auth/refresh", "application/json", strings.NewReader(`{"refresh_token": "`+pair.RefreshToken+`"}`))
		if err != nil || res.StatusCode != 401 {
			t.Fatalf("a refresh token issued before the reset: %v %v", err, res)
		}
		for _, args := range [][]string{
			{"admin", "reset-password", "--login", "nobody", "--password", "new-password-2"},
			{"admin", "reset-password", "--login", "api1", "--password", "short"},
			{"admin", "list-users", "--company", "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"},
		} {
			if out, errOut, code := runParley(t, dsn, args...); code == 0 || out != "" || errOut == "" {
				t.Errorf("parley %v: exit %d, %q %q; want a failure with a message", args, code, out, errOut)
			}
		}
	})
}

// TestServeSaysWhereAndWho: serve's log gives the pages' addresses and,
// on a database without users, how to create one.
func TestServeSaysWhereAndWho(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(parleyBinary(t), "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "PARLEY_DB=", "PARLEY_SIM_TTS=tone")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not become healthy")
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	for _, want := range []string{"console=http://" + addr + "/console/", "supervisor=http://" + addr + "/supervisor/",
		"no user exists", "parley demo", "parley admin create-user"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("serve's log lacks %q:\n%s", want, logs.String())
		}
	}
}
