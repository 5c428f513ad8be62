package script

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// allocated runs a script's main and reports the bytes the process
// allocated meanwhile (runtime.MemStats.TotalAlloc: every allocation,
// freed or not).
func allocated(t *testing.T, src string, cfg Config) (uint64, error) {
	t.Helper()
	p, err := Compile("t.star", src)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if cfg.Channel == "" {
		cfg.Channel = Voice
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = p.Run(context.Background(), "", &fakeHost{}, cfg)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// TestMemoryLimit: each script tries to allocate far more than a run may
// (gigabytes, in one step or a few). Each fails with the memory limit, and
// the process allocates about the run's budget at most, not what the
// script asked for. Before the guards, the first took 1.6 GB in one step.
func TestMemoryLimit(t *testing.T) {
	const budget = 64 << 20
	scripts := map[string]string{
		"list repetition":        "a = [0] * 100000000",
		"string repetition":      `x = "x" * 100000000`,
		"bytes repetition":       `b = b"x" * 100000000`,
		"tuple repetition":       "t = (0,) * 100000000",
		"repetition, int first":  "a = 100000000 * [0]",
		"four smaller ones":      "keep = []\n    for i in range(4):\n        keep.append([0] * 2000000)",
		"list doubling":          "a = [0]\n    for i in range(40):\n        a = a + a",
		"list doubling in place": "a = [0]\n    for i in range(40):\n        a += a",
		"string doubling":        "x = \"x\"\n    for i in range(40):\n        x = x + x",
		"string *=":              "x = \"x\" * 1000\n    x *= 1000000",
		"list of a range":        "l = list(range(100000000))",
		"tuple of a range":       "l = tuple(range(100000000))",
		"sorted range":           "l = sorted(range(100000000))",
		"reversed range":         "l = reversed(range(100000000))",
		"enumerate a range":      "l = enumerate(range(100000000))",
		"zip ranges":             "l = zip(range(100000000), range(100000000))",
		"dict of zip":            "d = dict(zip(range(10000000), range(10000000)))",
		"set of a range":         "x = set(range(100000000))",
		"extend by a range":      "a = []\n    a.extend(range(100000000))",
		"set union":              "x = set([1]).union(range(100000000))",
		"dict update":            "d = {}\n    d.update([(i, i) for i in range(10)])\n    d.update(zip(range(100000000), range(100000000)))",
		"spread a range":         "s.say(*range(100000000))",
		"join shared strings":    `x = ",".join(["x" * 1000] * 100000)`,
		"join, method value":     "j = \",\".join\n    x = j([\"x\" * 1000] * 100000)",
		"join through getattr":   "j = getattr(\",\", \"join\")\n    x = j([\"x\" * 1000] * 100000)",
		"replace":                `x = ("x" * 10000).replace("x", "y" * 10000)`,
		"format":                 `x = ("{}" * 100000).format("x" * 10000)`,
		"percent format":         `x = ("%(a)s" * 100000) % {"a": "x" * 10000}`,
		"str of shared strings":  `x = str(["x" * 10000] * 100000)`,
		"repr of shared strings": `x = repr(["x" * 10000] * 100000)`,
		"fail message":           `fail(["x" * 10000] * 100000)`,
		"split":                  `x = ("a " * 20000000).split()`,
		"big number":             "x = 7\n    for i in range(40):\n        x = x * x",
		"big shift":              "x = 1\n    for i in range(200000):\n        x = x << 500",
		"JSON output":            `s.set("out", ["x" * 10000] * 100000)`,
	}
	for name, body := range scripts {
		t.Run(name, func(t *testing.T) {
			src := "def main(s):\n    " + body + "\n    s.say(\"done\")\n"
			got, err := allocated(t, src, Config{MaxAlloc: budget, MaxSteps: 1 << 40, TurnTimeout: time.Minute, Outputs: []string{"out"}})
			wantScriptError(t, err, "memory limit exceeded: ")
			if !strings.HasPrefix(name, "big") {
				wantScriptError(t, err, "would take this run past its 64 MiB of memory")
			}
			t.Logf("%s: %v; the process allocated %d MiB", name, err, got>>20)
			if got > 3*budget {
				t.Errorf("the process allocated %d MiB for a run with a budget of 64 MiB", got>>20)
			}
		})
	}
}

// TestMemoryLimitKeepsSemantics: guarded operations give what the plain
// ones give, with the same errors and lines.
func TestMemoryLimitKeepsSemantics(t *testing.T) {
	const src = `
def f(*args, **kw):
    return len(args) + len(kw)

def main(s):
    a = [1, 2]
    b = a
    b += [3]
    c = a * 2
    t = (1,) + (2,)
    x = "ab" * 2
    x *= 2
    n = 3
    n *= 4
    n += 1
    y = "%s-%d-%r" % ("a", 3, "q")
    z = "{}{}".format(1, 2)
    j = ",".join(["a", "b"])
    sp = "a b  c".split()
    d = dict(k=1)
    d.update({"l": 2})
    g = getattr("a,b", "split")(",")
    st = set([1]).union([2])
    check = [a == [1, 2, 3], c == [1, 2, 3, 1, 2, 3], t == (1, 2), x == "abababab", n == 13,
             y == "a-3-\"q\"", z == "12", j == "a,b", sp == ["a", "b", "c"], d == {"k": 1, "l": 2},
             g == ["a", "b"], 1 << 3 == 8, 2 * 3 == 6, 7 % 3 == 1, f(*[1, 2], **{"k": 1}) == 3,
             list(range(3)) == [0, 1, 2], sorted([3, 1]) == [1, 3], str(5) == "5", repr("a") == "\"a\"",
             enumerate(["a"]) == [(0, "a")], zip([1], [2]) == [(1, 2)], len(st) == 2, tuple([1]) == (1,),
             "aXbX".replace("X", "yy") == "ayybyy", ("%s" % "x") == "x", bytes("ab") == b"ab"]
    print("discarded", sep=" ")
    s.say(str(check))
    x = "a" + 1
`
	h := &fakeHost{}
	_, err := run(t, src, h, Config{})
	if len(h.log) != 1 || strings.Contains(h.log[0], "False") {
		t.Fatalf("guarded results: %q", h.log)
	}
	wantScriptError(t, err, "script t.star: line 32: unknown binary op: string + int")
}

// TestRunStepLimit: a run's steps are bounded in all, not only per turn,
// so a script cannot spread unbounded work (and what it builds step by
// step) over many says.
func TestRunStepLimit(t *testing.T) {
	const src = `
def busy():
    n = 0
    for i in range(100):
        n += i
    return n

def main(s):
    for t in range(100):
        busy()
        s.say(str(t))
`
	h := &fakeHost{}
	_, err := run(t, src, h, Config{MaxSteps: 2000, MaxRunSteps: 20000, TurnTimeout: time.Minute})
	wantScriptError(t, err, "step limit exceeded: more than 20000 steps in one run")
	if len(h.log) == 0 || len(h.log) >= 100 {
		t.Errorf("%d says before the limit", len(h.log))
	}
	if _, err := run(t, src, &fakeHost{}, Config{MaxSteps: 2000, MaxRunSteps: 10_000_000}); err != nil {
		t.Fatalf("within the run's budget: %v", err)
	}
}

// TestGuardNamesReserved: a script cannot reach, or replace, the guards.
func TestGuardNamesReserved(t *testing.T) {
	for _, src := range []string{
		"_parley_binop = 1\ndef main(s):\n    pass\n",
		"def main(s):\n    _parley_attr(s, \"say\")\n",
		"def main(s, _parley_x = 1):\n    pass\n",
	} {
		_, err := Compile("t.star", src)
		if err == nil || !strings.Contains(err.Error(), "names starting with _parley_ are reserved") {
			t.Errorf("%q: %v", src, err)
		}
	}
	_, err := Compile("t.star", "def f():\n    return 0\ndef main(s):\n    a = [0]\n    a[f()] += 1\n")
	if err == nil || !strings.Contains(err.Error(), "line 5") || !strings.Contains(err.Error(), "cannot have a call in its target") {
		t.Errorf("augmented assignment to a call's index: %v", err)
	}
}
