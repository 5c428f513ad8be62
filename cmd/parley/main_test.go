package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// The control contract other tests (and operators) rely on: the binary, its
// admin commands' JSON, its environment, health endpoints and SIGTERM.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func parleyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runParley runs the binary with PARLEY_DB=dsn and returns stdout, stderr and
// the exit code.
func runParley(t *testing.T, dsn string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(parleyBinary(t), args...)
	cmd.Env = append(os.Environ(), "PARLEY_DB="+dsn)
	cmd.Dir = t.TempDir() // the default data directory lands there, not in the source tree
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run parley %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func adminJSON(t *testing.T, dsn string, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := runParley(t, dsn, append([]string{"admin"}, args...)...)
	if code != 0 {
		t.Fatalf("parley admin %v: exit %d: %s", args, code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("parley admin %v: stdout is not one JSON object: %q", args, out)
	}
	return m
}

func TestAdminCommands(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		out, errOut, code := runParley(t, dsn, "migrate")
		if code != 0 || !strings.Contains(out, "migrated") {
			t.Fatalf("migrate: exit %d: %s %s", code, out, errOut)
		}
		c := adminJSON(t, dsn, "create-company", "--name", "Acme")
		cu, _ := c["company_uuid"].(string)
		if len(cu) != 36 || c["company_id"].(float64) < 1 || len(c["secret"].(string)) < 32 {
			t.Fatalf("create-company: %v", c)
		}
		u := adminJSON(t, dsn, "create-user", "--company", cu, "--login", "api1", "--password", "s3cret-pass", "--role", "api")
		if len(u["user_uuid"].(string)) != 36 || u["operator_id"] != nil {
			t.Fatalf("create-user api: %v", u)
		}
		op := adminJSON(t, dsn, "create-user", "--company", cu, "--login", "op1", "--password", "s3cret-pass", "--role", "operator")
		if id, ok := op["operator_id"].(float64); !ok || id < 1 {
			t.Fatalf("create-user operator has no operator_id: %v", op)
		}
		a := adminJSON(t, dsn, "create-agent", "--company", cu, "--name", "Bot", "--timezone", "Europe/Rome")
		if len(a["agent_uuid"].(string)) != 36 || a["agent_id"].(float64) < 1 {
			t.Fatalf("create-agent: %v", a)
		}
		m := adminJSON(t, dsn, "create-menu", "--company", cu, "--name", "Support", "--agent", a["agent_uuid"].(string))
		menuID, ok := m["menu_id"].(float64)
		if !ok || menuID < 1 {
			t.Fatalf("create-menu: %v", m)
		}
		pr := adminJSON(t, dsn, "create-project", "--company", cu, "--name", "Site", "--menu", fmt.Sprint(menuID))
		if pu, _ := pr["project_uuid"].(string); len(pu) != 36 {
			t.Fatalf("create-project: %v", pr)
		}

		// Failures: a message on stderr, nothing on stdout, non-zero exit.
		for _, args := range [][]string{
			{"admin", "create-user", "--company", cu, "--login", "api1", "--password", "s3cret-pass", "--role", "api"},
			{"admin", "create-user", "--company", cu, "--login", "x", "--password", "s3cret-pass", "--role", "root"},
			{"admin", "create-user", "--company", "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10", "--login", "y", "--password", "s3cret-pass", "--role", "api"},
			{"admin", "create-agent", "--company", cu, "--name", "Bot2", "--timezone", "Nowhere/City"},
			{"admin", "create-company"},
			{"admin", "create-menu", "--company", cu, "--name", "M", "--agent", "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"},
			{"admin", "create-project", "--company", cu, "--name", "P", "--menu", "999"},
			{"admin", "create-project", "--company", cu, "--name", "P", "--menu", "x"},
			{"admin", "frobnicate"},
			{"nonsense"},
		} {
			out, errOut, code := runParley(t, dsn, args...)
			if code == 0 || out != "" || strings.TrimSpace(errOut) == "" {
				t.Errorf("parley %v: exit %d, stdout %q, stderr %q; want failure with a message", args, code, out, errOut)
			}
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeLifecycle(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		c := adminJSON(t, dsn, "create-company", "--name", "Acme")
		password := "very-secret-password"
		adminJSON(t, dsn, "create-user", "--company", c["company_uuid"].(string), "--login", "api1", "--password", password, "--role", "api")

		addr := freeAddr(t)
		cmd := exec.Command(parleyBinary(t), "serve", "--addr", addr)
		cmd.Env = append(os.Environ(), "PARLEY_DB="+dsn, "PARLEY_LOG_FORMAT=json")
		cmd.Dir = t.TempDir() // the default data directory lands there, not in the source tree
		var logBuf bytes.Buffer
		cmd.Stderr = &logBuf // Wait returns only after the copy is complete
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()

		base := "http://" + addr
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err := http.Get(base + "/healthz")
			if err == nil && res.StatusCode == 200 {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server did not become healthy: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		res, err := http.Get(base + "/readyz")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("readyz: %v %v", err, res)
		}
		res.Body.Close()

		req, _ := http.NewRequest("POST", base+"/api/v2/ext/auth", nil)
		req.SetBasicAuth("api1", password)
		req.Header.Set("X-Request-Id", "trace-me-12345")
		res, err = http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 || res.Header.Get("X-Request-Id") != "trace-me-12345" {
			t.Fatalf("auth: %v %v", err, res)
		}
		var p struct{ Token string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, logBuf.String())
		}
		logs := logBuf.String()

		found := false
		sc := bufio.NewScanner(strings.NewReader(logs))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				t.Errorf("log line is not JSON: %s", sc.Text())
				continue
			}
			if line["request_id"] == "trace-me-12345" && line["route"] == "POST /api/v2/ext/auth" && line["status"] == 200.0 {
				found = true
			}
		}
		if !found {
			t.Errorf("no request log line with the request id:\n%s", logs)
		}
		for _, secret := range []string{password, p.Token} {
			if secret != "" && strings.Contains(logs, secret) {
				t.Errorf("logs contain a secret")
			}
		}
		if !strings.Contains(logs, "shutting down") {
			t.Errorf("no shutdown log line:\n%s", logs)
		}
	})
}
