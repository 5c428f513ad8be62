package main

import (
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
)

// TestLimitSettings: the hardening settings are read from the environment,
// and wrong values stop the server instead of being ignored.
func TestLimitSettings(t *testing.T) {
	t.Setenv("PARLEY_LOGIN_FAILURES_PER_LOGIN", "3")
	t.Setenv("PARLEY_LOGIN_FAILURES_PER_CLIENT", "0")
	t.Setenv("PARLEY_LOGIN_BACKOFF_MAX", "5m")
	t.Setenv("PARLEY_PASSWORD_HASHES", "4")
	t.Setenv("PARLEY_PASSWORD_HASH_QUEUE", "16")
	t.Setenv("PARLEY_SCRIPT_MAX_ALLOC", "32MiB")
	t.Setenv("PARLEY_SCRIPT_MAX_RUN_STEPS", "1000000")
	t.Setenv("PARLEY_METRICS_ADDR", "127.0.0.1:9090")
	t.Setenv("PARLEY_METRICS_TOKEN", "a-token-of-sixteen+")
	var cfg server.Config
	if err := loginSettings(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := scriptSettings(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := metricsSettings(&cfg); err != nil {
		t.Fatal(err)
	}
	l := cfg.Logins
	if l.PerLogin.Free != 3 || !l.NoClientLimit || l.PerLogin.Max != 5*time.Minute || l.PerClient.Max != 5*time.Minute ||
		cfg.HashConcurrency != 4 || cfg.HashQueue != 16 || cfg.ScriptMaxAlloc != 32<<20 || cfg.ScriptMaxRunSteps != 1_000_000 ||
		cfg.MetricsAddr != "127.0.0.1:9090" || cfg.MetricsToken != "a-token-of-sixteen+" {
		t.Fatalf("settings read as %+v", cfg)
	}
	for name, bad := range map[string]string{
		"PARLEY_LOGIN_FAILURES_PER_LOGIN": "0", "PARLEY_PASSWORD_HASHES": "many", "PARLEY_LOGIN_BACKOFF_MAX": "1ms",
		"PARLEY_SCRIPT_MAX_ALLOC": "12", "PARLEY_SCRIPT_MAX_RUN_STEPS": "-1", "PARLEY_METRICS_TOKEN": "short",
		"PARLEY_METRICS_ADDR": "nohostport",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			var cfg server.Config
			if err := errorsOf(loginSettings(&cfg), scriptSettings(&cfg), metricsSettings(&cfg)); err == nil {
				t.Errorf("%s=%q accepted", name, bad)
			}
		})
	}
	for in, want := range map[string]int64{"64MiB": 64 << 20, "64MB": 64 << 20, "1GiB": 1 << 30, "1048576": 1 << 20, " 2 KiB": 2 << 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v", in, got, err)
		}
	}
}

func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestTenantLimitSettings: the stream and upload quotas are read from the
// environment, and wrong values stop the server.
func TestTenantLimitSettings(t *testing.T) {
	t.Setenv("PARLEY_STREAM_USER_CONNS", "40")
	t.Setenv("PARLEY_UPLOAD_CHAT_FILES", "50")
	t.Setenv("PARLEY_UPLOAD_CHAT_BYTES", "500MiB")
	t.Setenv("PARLEY_UPLOAD_COMPANY_FILES", "7000")
	t.Setenv("PARLEY_UPLOAD_COMPANY_BYTES", "2TiB")
	t.Setenv("PARLEY_TRUNK_ALLOW_PRIVATE", "1")
	t.Setenv("PARLEY_DIALER_MAX_CALLS", "300")
	t.Setenv("PARLEY_MAX_CHANNEL_LIMIT", "250")
	var cfg server.Config
	if err := limitSettings(&cfg); err != nil {
		t.Fatal(err)
	}
	u := cfg.Uploads
	if cfg.StreamUserConns != 40 || u.ChatFiles != 50 || u.ChatBytes != 500<<20 || u.CompanyFiles != 7000 || u.CompanyBytes != 2<<40 ||
		!cfg.TrunkAllowPrivate || cfg.DialerMaxCalls != 300 || cfg.MaxChannelLimit != 250 {
		t.Fatalf("settings read as %+v", cfg)
	}
	for name, bad := range map[string]string{
		"PARLEY_STREAM_USER_CONNS": "0", "PARLEY_UPLOAD_CHAT_FILES": "many", "PARLEY_UPLOAD_CHAT_BYTES": "0",
		"PARLEY_UPLOAD_COMPANY_FILES": "-1", "PARLEY_UPLOAD_COMPANY_BYTES": "lots",
		"PARLEY_TRUNK_ALLOW_PRIVATE": "yes", "PARLEY_DIALER_MAX_CALLS": "-3", "PARLEY_MAX_CHANNEL_LIMIT": "0",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			var cfg server.Config
			if err := limitSettings(&cfg); err == nil {
				t.Errorf("%s=%q accepted", name, bad)
			}
		})
	}
}
