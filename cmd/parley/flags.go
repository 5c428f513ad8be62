package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelp means the usage was asked for (-h, --help, help) and printed on
// stdout: the command succeeded.
var errHelp = errors.New("help shown")

// usageError is a command line that does not parse: the usage goes to
// stderr and the exit status is 2, as with Go's own flag handling.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// command is the flags of one command: its synopsis and purpose for -h,
// and where help (stdout) and errors (stderr) go.
type command struct {
	*flag.FlagSet
	synopsis string // "parley serve [--addr HOST:PORT] ..."
	about    string // what it does, a paragraph
	stdout   io.Writer
	stderr   io.Writer
}

func newCommand(name, synopsis, about string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the usage where it belongs
	return &command{FlagSet: fs, synopsis: synopsis, about: about, stdout: stdout, stderr: stderr}
}

// printUsage writes the synopsis, the purpose and the flags to w.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  %s\n", c.synopsis)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.about))
	}
	n := 0
	c.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		c.SetOutput(w)
		c.PrintDefaults()
		c.SetOutput(c.stderr)
	}
}

// parse parses args: -h and --help print the usage on stdout and return
// errHelp; a flag that does not parse, or an argument left over, prints
// the usage on stderr and returns a usageError.
func (c *command) parse(args []string) error {
	err := c.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(c.stdout)
		return errHelp
	case err != nil: // the flag package has said what is wrong
		c.printUsage(c.stderr)
		return usageError{err}
	case c.NArg() > 0:
		if a := c.Arg(0); a == "help" {
			c.printUsage(c.stdout)
			return errHelp
		}
		c.printUsage(c.stderr)
		return usageError{fmt.Errorf("%s: unexpected argument %q", c.Name(), c.Arg(0))}
	}
	return nil
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}
