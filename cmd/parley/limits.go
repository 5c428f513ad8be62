package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/parley-cc/parley/internal/server"
)

// limitSettings reads the limits of what one tenant may consume from the
// environment (docs/security.md lists each with its default; unset keeps
// the default).
func limitSettings(cfg *server.Config) error {
	for _, s := range []struct {
		name string
		dst  *int
		max  int
	}{
		{"PARLEY_STREAM_USER_CONNS", &cfg.StreamUserConns, 100_000},
		{"PARLEY_UPLOAD_CHAT_FILES", &cfg.Uploads.ChatFiles, 1_000_000},
		{"PARLEY_UPLOAD_COMPANY_FILES", &cfg.Uploads.CompanyFiles, 1_000_000_000},
		{"PARLEY_DIALER_MAX_CALLS", &cfg.DialerMaxCalls, 1_000_000},
		{"PARLEY_MAX_CHANNEL_LIMIT", &cfg.MaxChannelLimit, 100_000},
	} {
		v := os.Getenv(s.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.max {
			return fmt.Errorf("%s: want a whole number from 1 to %d, got %q", s.name, s.max, v)
		}
		*s.dst = n
	}
	for _, s := range []struct {
		name string
		dst  *int64
	}{
		{"PARLEY_UPLOAD_CHAT_BYTES", &cfg.Uploads.ChatBytes},
		{"PARLEY_UPLOAD_COMPANY_BYTES", &cfg.Uploads.CompanyBytes},
	} {
		v := os.Getenv(s.name)
		if v == "" {
			continue
		}
		n, err := parseBytes(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s: want a size such as 1073741824, 500MiB or 10GiB, got %q", s.name, v)
		}
		*s.dst = n
	}
	if v := os.Getenv("PARLEY_IMPORT_CPU"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0.05 && f <= 1) {
			return fmt.Errorf("PARLEY_IMPORT_CPU: want the share of one CPU a running import may take, from 0.05 to 1, got %q", v)
		}
		cfg.ImportCPUShare = f
	}
	switch v := os.Getenv("PARLEY_TRUNK_ALLOW_PRIVATE"); v {
	case "", "0", "false":
	case "1", "true":
		cfg.TrunkAllowPrivate = true
	default:
		return fmt.Errorf("PARLEY_TRUNK_ALLOW_PRIVATE: want 1 or 0, got %q", v)
	}
	return nil
}
