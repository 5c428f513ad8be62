package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-cc/parley/internal/server"
)

// serverSettings reads and checks every setting of serve and demo. Each
// check names the variable (or the flag that overrides it), so that a
// wrong value stops the server at start instead of being ignored. A new
// setting gets its reader in the group it belongs to, which returns an
// error naming it; this function only calls the groups.
func serverSettings(fs *flag.FlagSet, cfg *server.Config, stderr io.Writer) error {
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	cfg.Log = log
	if err := checkAddr(source(fs, "addr", "PARLEY_ADDR"), cfg.Addr); err != nil {
		return err
	}
	for _, read := range []func(*server.Config) error{
		func(cfg *server.Config) error { return storeSettings(fs, cfg) },
		workerSettings,
		natsSettings,
		limitSettings,
		mediaSettings,
		voiceSettings,
		turnSettings,
		metricsSettings,
		loginSettings,
		scriptSettings,
	} {
		if err := read(cfg); err != nil {
			return err
		}
	}
	for _, name := range unknownSettings(os.Environ()) {
		cfg.Log.Warn("unknown setting ignored: not a variable Parley reads (see parley help)", "variable", name)
	}
	return nil
}

// storeSettings checks the database settings every command that opens
// the store takes.
func storeSettings(fs *flag.FlagSet, cfg *server.Config) error {
	if cfg.DB != "" && !strings.HasPrefix(cfg.DB, "sqlite://") && !strings.HasPrefix(cfg.DB, "postgres://") && !strings.HasPrefix(cfg.DB, "postgresql://") {
		return fmt.Errorf("%s: want sqlite:///path/to/file.db or postgres://user:pass@host:5432/db", source(fs, "db", "PARLEY_DB"))
	}
	if cfg.DB == "" && strings.TrimSpace(cfg.DataDir) == "" {
		return fmt.Errorf("%s: want a directory", source(fs, "data-dir", "PARLEY_DATA_DIR"))
	}
	return nil
}

// natsSettings reads the cluster link's settings.
func natsSettings(cfg *server.Config) error {
	cfg.NATSURL, cfg.NATSSubject = os.Getenv("PARLEY_NATS_URL"), os.Getenv("PARLEY_NATS_SUBJECT")
	if v := cfg.NATSURL; v != "" {
		for _, one := range strings.Split(v, ",") { // a cluster's servers, comma-separated
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil || u.Host == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
				return fmt.Errorf("PARLEY_NATS_URL: want nats://host:4222 (several separated by commas), got %q", redactURL(one))
			}
		}
	}
	if v := cfg.NATSSubject; v != "" && (strings.ContainsAny(v, "*> \t") || strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") || strings.Contains(v, "..")) {
		return fmt.Errorf("PARLEY_NATS_SUBJECT: want dot-separated tokens without wildcards or spaces, got %q", v)
	}
	return nil
}

// checkAddr checks a listen address: host:port, the port a number (0
// picks a free one).
func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var p int
		if p, err = strconv.Atoi(port); err == nil && (p < 0 || p > 65535) {
			err = fmt.Errorf("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("%s: want HOST:PORT such as 127.0.0.1:8080, got %q", name, addr)
	}
	return nil
}

// source names where a flag's value came from: the flag when it was given,
// else its variable.
func source(fs *flag.FlagSet, flagName, envName string) string {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == flagName })
	if set {
		return "--" + flagName
	}
	return envName
}

// redactURL drops a URL's password, for error messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return s
}

var settingName = regexp.MustCompile(`PARLEY_[A-Z0-9_]*[A-Z0-9]`)

// unknownSettings returns the PARLEY_ variables of environ that the usage
// does not document, a typo most likely (PARLEY_LOG_LEVLE). The test
// and benchmark switches of the repository's own tests are not settings.
func unknownSettings(environ []string) []string {
	known := map[string]bool{}
	for _, n := range settingName.FindAllString(usageTail, -1) {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PARLEY_") || known[name] || strings.Contains(name, "TEST") || strings.Contains(name, "BENCH") || strings.Contains(name, "SCREENSHOT") {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
