package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

var serveDirs sync.Map // *testing.T -> its processes' working directory

// startServe runs `parley serve` on dsn and waits until /healthz answers.
func startServe(t *testing.T, dsn string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(parleyBinary(t), "serve", "--addr", addr)
	cmd.Env = append(append(os.Environ(), "PARLEY_DB="+dsn, "PARLEY_LOG_LEVEL=warn", "PARLEY_SIM_TTS=tone"), env...)
	// The default data directory (the local media store, which holds the
	// calls' recordings) lands in one directory per test, shared by the
	// test's processes like one deployment's nodes, not in the source tree.
	dir, _ := serveDirs.LoadOrStore(t, t.TempDir())
	cmd.Dir = dir.(string)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return cmd, base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKill9LosesNothingAcknowledged writes entities one by one, kills the
// server with SIGKILL mid-stream, restarts it, and checks that every write
// that was answered 201 is there, once.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		c := adminJSON(t, dsn, "create-company", "--name", "Acme")
		adminJSON(t, dsn, "create-user", "--company", c["company_uuid"].(string), "--login", "api1", "--password", "s3cret-pass", "--role", "api")
		agentUUID := adminJSON(t, dsn, "create-agent", "--company", c["company_uuid"].(string), "--name", "Bot")["agent_uuid"].(string)

		cmd, base := startServe(t, dsn)
		token := loginHTTP(t, base, "api1", "s3cret-pass")

		acked := map[string]bool{}
		client := &http.Client{Timeout: 5 * time.Second}
		killed := false
		for i := 0; i < 2000; i++ {
			name := fmt.Sprintf("entity-%04d", i)
			req, _ := http.NewRequest("POST", base+"/api/v2/ext/initial-entity?agent_uuid="+agentUUID, strings.NewReader(`{"name":"`+name+`"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				if killed {
					break
				}
				t.Fatalf("request %d: %v", i, err)
			}
			res.Body.Close()
			if res.StatusCode == 201 {
				acked[name] = true
			}
			if i == 150 {
				// Kill from another goroutine, so that it lands while a
				// request is in flight; the loop runs until requests fail.
				killed = true
				go func() { time.Sleep(time.Millisecond); _ = cmd.Process.Kill() }()
			}
		}
		_ = cmd.Wait()
		if len(acked) < 100 {
			t.Fatalf("only %d writes acknowledged before the kill", len(acked))
		}

		_, base = startServe(t, dsn)
		token = loginHTTP(t, base, "api1", "s3cret-pass") // the signing key and users survived too
		req, _ := http.NewRequest("GET", base+"/api/v2/ext/initial-entity?agent_uuid="+agentUUID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list struct {
			Data []struct{ Name string } `json:"data"`
		}
		if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range list.Data {
			seen[e.Name]++
		}
		for name := range acked {
			if seen[name] != 1 {
				t.Errorf("acknowledged %s present %d times after kill -9", name, seen[name])
			}
		}
		// At most the one request in flight at the kill may have landed
		// without its answer arriving.
		if extra := len(list.Data) - len(acked); extra < 0 || extra > 1 {
			t.Errorf("%d entities stored, %d acknowledged", len(list.Data), len(acked))
		}
	})
}

func loginHTTP(t *testing.T, base, login, password string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v2/ext/auth", nil)
	req.SetBasicAuth(login, password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct{ Token string }
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&p) != nil {
		t.Fatalf("login: status %d", res.StatusCode)
	}
	return p.Token
}
