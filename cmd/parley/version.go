package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is "parley version": the module version and the VCS revision the
// binary was built from, as the Go toolchain recorded them.
func version(args []string, stdout, stderr io.Writer) error {
	c := newCommand("version", synopsis("version"), "Prints the version of this binary: module version, VCS revision and time, Go version.", stdout, stderr)
	if err := c.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

// versionLine reads the build information: "parley v1.2.3 (revision
// 0123abcd, 2026-01-02T03:04:05Z, modified) go1.26 linux/amd64". A binary
// built outside a module or a VCS checkout says what it lacks.
func versionLine() string {
	v, rev, at, modified := "(unknown)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "parley " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += " (revision " + rev
		if at != "" {
			line += ", " + at
		}
		if modified {
			line += ", modified"
		}
		line += ")"
	}
	return fmt.Sprintf("%s %s %s/%s", line, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
