package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/parley-cc/parley/internal/demo"
	"github.com/parley-cc/parley/internal/server"
)

const demoAbout = `Runs the server as serve does, with a demo tenant ("Parley Demo") made first, or
found from an earlier run: an admin (the supervisor), two operators, an API user, a
chat menu answered by a shop assistant before the operators, a project with the
widget's demo page, a voice agent with a payment reminder script and no time slots,
dialogs on the simulated "sim" trunk, and two chats waiting in the operators'
queue. Running it again creates nothing twice. It prints the pages' addresses and
the logins; the passwords (random, made once) are kept in DATA_DIR/demo-passwords.json.`

// demoCommand is "parley demo": serve, with the demo tenant ensured before the
// server listens and its addresses and logins printed once it does.
func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newCommand("demo", synopsis("demo"), demoAbout, stdout, stderr)
	return runServer(ctx, cmd, args, func(ctx context.Context, srv *server.Server) (func(string), error) {
		passwords, err := demo.LoadPasswords(filepath.Join(srv.Config.DataDir, "demo-passwords.json"))
		if err != nil {
			return nil, err
		}
		t, err := demo.Ensure(ctx, demo.Services{Companies: srv.Companies, Users: srv.Users, Agents: srv.Agents, Chats: srv.Chats, Dialogs: srv.Dialogs}, passwords)
		if err != nil {
			return nil, err
		}
		if len(t.Created) > 0 {
			srv.Config.Log.Info("demo tenant created", "created", strings.Join(t.Created, ", "))
		} else {
			srv.Config.Log.Info("demo tenant found: nothing to create")
		}
		return func(base string) { printDemo(stdout, base, t, passwords.Path()) }, nil
	})
}

// printDemo prints where the demo's pages are and who can log in.
func printDemo(w io.Writer, base string, t *demo.Tenant, passwordFile string) {
	login := func(role string) string {
		var out []string
		for _, l := range t.Logins {
			if l.Role != role {
				continue
			}
			pw := l.Password
			if pw == "" {
				pw = "(not kept; set one with: parley admin reset-password --login " + l.Login + " --password NEW)"
			}
			out = append(out, l.Login+" / "+pw)
		}
		return strings.Join(out, "\n                      ")
	}
	fmt.Fprintf(w, `
Parley demo is running (company %q, %s).

  Console             %s/console/
    operators         %s
  Supervisor          %s/supervisor/
    admin             %s
  Widget demo         %s/widget/demo/?project=%s
  API reference       %s/docs/api/
  External API        %s/api/v2/ext  (POST /auth with Basic auth)
    API user          %s

Passwords are kept in %s. Dialogs of the %q agent are called on the
simulated trunk: statistics and call pages fill within a minute. Ctrl-C stops.
`, demo.CompanyName, t.CompanyUUID, base, login("operator"), base, login("admin"), base, t.ProjectUUID, base, base,
		login("api"), passwordFile, demo.VoiceName)
}
