// Command parley-bench holds Parley's load generators and benchmarks. It
// drives a server (in this process, or `parley serve` as a child) through
// its services and its HTTP APIs, never through SQL of its own, on fresh
// databases, and reports each measurement beside a baseline of the same
// run. It is not part of the release binary; docs/benchmarks.md has the
// requirements, the commands and the results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-cc/parley/internal/voice/bridgebench"
)

const usage = `parley-bench — load generators and benchmarks for Parley (see docs/benchmarks.md)

Usage:
  parley-bench ext     [--db DSN] [--duration 10s] [--warmup 2s] [--connections 32] [--rate 1000] [--rounds 3] [--json] [--cpuprofile FILE]
  parley-bench import  [--db DSN] [--rows 100000]
  parley-bench dialer  [--db DSN] [--channels 1000] [--duration 20s] [--pace 0.5]
  parley-bench report  [--db DSN] [--dialogs 1000000] [--queries 500]
  parley-bench chat    [--db DSN] [--chats 200] [--posters 32] [--duration 10s] [--warmup 2s] [--rate 0] [--json] [--cpuprofile FILE]
  parley-bench search  [--db DSN] [--messages 1000000] [--per-chat 50] [--queries 500] [--loaders 4] [--bulk=true] [--vacuum=true] [--keep]
  parley-bench ws-idle [--conns 10000] [--chats 1000] [--hold 5s] [--bin PATH] [--json]
  parley-bench turns   [--calls 2] [--turns 50] [--beside dialer]
  parley-bench bridge  [--calls 10,25,50,100,150,200] [--duration 20s] [--accepts 10] [--baseline 10] [--http-accepts 10] [--ports] [--same-process] [--media-nice -10] [--all] [--json]

--db: empty (the default) is a fresh SQLite file in a temporary directory, removed at the
end; postgres://... is a fresh database created on that server and dropped at the end;
sqlite:///path is a file used as it is. PARLEY_DB is never read: a benchmark must not
write into the database a real server uses.

bridge runs its load (the callees' phone, the operators' pion peers) as this binary again, a child
process; --same-process keeps it in this one.

ws-idle runs ` + "`parley serve`" + ` as a child process: --bin names the parley binary (default: the
parley beside this binary, else the one on PATH).
`

func main() {
	bridgebench.ServeLoadIfChild() // `bridge` runs its load side as this binary again
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(1)
	}
}

// run runs one benchmark: args[0] names it, the rest are its flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no benchmark named: ext, import, dialer, report, chat, search, ws-idle, turns or bridge")
	}
	switch args[0] {
	case "ext":
		return benchExt(ctx, args[1:], stdout, stderr)
	case "import", "dialer", "report":
		return benchDialogs(ctx, args[0], args[1:], stdout, stderr)
	case "chat":
		return benchChat(ctx, args[1:], stdout, stderr)
	case "search":
		return benchSearch(ctx, args[1:], stdout, stderr)
	case "ws-idle":
		return benchWSIdle(ctx, args[1:], stdout, stderr)
	case "turns":
		return benchTurns(ctx, args[1:], stdout, stderr)
	case "bridge":
		return benchBridge(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown benchmark %q", args[0])
}
