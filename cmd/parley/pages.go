package main

import (
	"context"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/server"
)

// publicBase is the base URL people reach the server at: PARLEY_PUBLIC_URL
// when set, else the listen address (a wildcard host shown as 127.0.0.1).
func publicBase(cfg server.Config, srv *server.Server) string {
	if v := os.Getenv("PARLEY_PUBLIC_URL"); v != "" {
		return strings.TrimRight(v, "/")
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		return srv.URL()
	}
	if host, port, err := net.SplitHostPort(u.Host); err == nil {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			u.Host = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return u.String()
}

// logPages says where the pages are, and, on a database without users,
// how to make the first one: a fresh server otherwise shows a login page
// nobody can pass.
func logPages(ctx context.Context, srv *server.Server, base string) {
	log := srv.Config.Log
	log.Info("pages", "console", base+"/console/", "supervisor", base+"/supervisor/",
		"widget_demo", base+"/widget/demo/?project=PROJECT_UUID", "api_reference", base+"/docs/api/")
	// Counted even when a signal came meanwhile: the answer is the point
	// of the log line, and shutdown waits until this returns.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n, err := srv.Users.CountUsers(cctx)
	if err != nil {
		log.Warn("users not counted", "error", err)
		return
	}
	if n == 0 {
		log.Warn("no user exists yet, so nobody can log in: run `parley demo` for a demo tenant, or create a company and a user: " +
			"`parley admin create-company --name NAME`, then `parley admin create-user --company COMPANY_UUID --login LOGIN --password PASSWORD --role admin`")
	}
}
