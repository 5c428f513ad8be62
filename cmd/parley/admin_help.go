package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/parley-cc/parley/internal/server"
)

// adminCommand is one "parley admin" subcommand. Those with run live in
// files of their own; the others are in admin's switch (main.go).
type adminCommand struct {
	name, synopsis, about string
	run                   func(ctx context.Context, spec adminCommand, args []string, stdout, stderr io.Writer) error
}

// adminCommands lists the subcommands in the order the usage shows them.
var adminCommands = []adminCommand{
	{name: "create-company", synopsis: "parley admin create-company --name NAME [--timezone TZ]",
		about: `Creates a company (a tenant). Prints {"company_uuid", "company_id", "secret"}.`},
	{name: "create-user", synopsis: "parley admin create-user --company UUID --login L --password P --role admin|api|operator",
		about: `Creates a user of a company. An operator user is also a chat operator. Prints {"user_uuid", "operator_id"}.`},
	{name: "list-users", synopsis: "parley admin list-users [--company UUID]", run: listUsers,
		about: `Lists the users (of one company, or of all). Prints {"users": [{"login", "role", "user_uuid", "company_uuid", "company_name", "operator_id"}]}.`},
	{name: "reset-password", synopsis: "parley admin reset-password --login L --password P", run: resetPassword,
		about: `Sets a user's password and revokes the user's refresh tokens (access tokens already issued expire within the hour). Prints {"user_uuid", "login"}.`},
	{name: "create-agent", synopsis: "parley admin create-agent --company UUID --name NAME [--timezone TZ]",
		about: `Creates a virtual agent. Prints {"agent_uuid", "agent_id"}.`},
	{name: "put-script", synopsis: "parley admin put-script --agent UUID --name NAME --file PATH",
		about: `Creates or replaces an agent's Starlark script from a file. Prints {"agent_uuid", "name"}.`},
	{name: "create-menu", synopsis: "parley admin create-menu --company UUID --name NAME [--agent UUID]",
		about: `Creates a chat menu, answered first by the agent's script when --agent is given. Prints {"menu_id"}.`},
	{name: "create-project", synopsis: "parley admin create-project --company UUID --name NAME [--menu ID]",
		about: `Creates a project (a chat entry point: the widget, the live-chat gateway). Prints {"project_uuid"}.`},
	{name: "create-trunk", synopsis: "parley admin create-trunk --company UUID --name NAME --host H [--port 5060] [--transport udp|tcp] [--username U --password P] [--caller-id C] [--codecs PCMU,PCMA] [--ring-timeout 30]",
		about: `Creates a SIP trunk of a company; agents whose trunk_name is NAME call through it. Prints {"trunk_id"}.`},
}

func findAdminCommand(name string) (adminCommand, bool) {
	for _, c := range adminCommands {
		if c.name == name {
			return c, true
		}
	}
	return adminCommand{}, false
}

func printAdminUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage:")
	for _, c := range adminCommands {
		fmt.Fprintf(w, "  %s\n", c.synopsis)
	}
	fmt.Fprint(w, `
Admin commands print one JSON object on stdout and exit 0; on error they print a
message on stderr and exit non-zero. They work on the database of serve
(PARLEY_DB, PARLEY_DATA_DIR, or --db and --data-dir), also while it runs.
"parley admin COMMAND -h" describes a command's flags.
`)
}

// openForAdmin opens the store for a one-shot admin command: no workers,
// no media directory, no log.
func openForAdmin(ctx context.Context, fs *flag.FlagSet, cfg server.Config) (*server.Server, error) {
	if err := storeSettings(fs, &cfg); err != nil {
		return nil, err
	}
	cfg.Log = slog.New(slog.DiscardHandler)
	cfg.NoWorkers = true
	cfg.Media.Backend = "none"
	return server.Open(ctx, cfg)
}
