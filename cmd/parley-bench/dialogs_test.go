package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBenchDialogsRun runs parley-bench import, dialer and report tiny on
// SQLite, so that they cannot rot, and checks what they report (every row
// imported, calls started and finished, report pages found). It asserts
// no timings.
func TestBenchDialogsRun(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"import", "--rows", "3000"}, []string{"baseline: outbound service CreateRows of 3000", "import: 3000 rows", "errors 0"}},
		{[]string{"dialer", "--channels", "3", "--duration", "1s", "--pace", "0"}, []string{"dialer: ", "(limit 3)", "finished: "}},
		{[]string{"report", "--dialogs", "3000", "--queries", "5"}, []string{"filled 3000 finished dialogs", "dialog-report: 5 pages"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out, errOut bytes.Buffer
		err := run(ctx, c.args, &out, &errOut)
		cancel()
		if err != nil {
			t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", c.args, err, &out, &errOut)
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: report lacks %q:\n%s", c.args, w, &out)
			}
		}
		// Instant simulated calls may all be over before the measured
		// window; that they happened is what counts here.
		if c.args[0] == "dialer" && strings.Contains(out.String(), "finished: 0 done") {
			t.Errorf("the dialer finished no dialog:\n%s", &out)
		}
	}
	for _, args := range [][]string{{"import", "--rows", "0"}, {"report", "--dialogs", "10"}, {"dialer", "x"}, {"nope"}, {}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
