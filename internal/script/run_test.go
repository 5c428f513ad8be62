package script

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-cc/parley"
)

// run compiles src as t.star and runs main on the voice channel unless cfg
// says otherwise.
func run(t *testing.T, src string, h *fakeHost, cfg Config) (*Outcome, error) {
	t.Helper()
	p, err := Compile("t.star", src)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if cfg.Channel == "" {
		cfg.Channel = Voice
	}
	out, err := p.Run(context.Background(), "", h, cfg)
	if out == nil {
		t.Fatal("Run returned a nil Outcome")
	}
	return out, err
}

// wantScriptError checks that err is an EINVALID whose message contains want.
func wantScriptError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want one containing %q", want)
	}
	if code := parley.ErrorCode(err); code != parley.EINVALID {
		t.Errorf("ErrorCode(%v) = %q, want %q", err, code, parley.EINVALID)
	}
	if msg := parley.ErrorMessage(err); !strings.Contains(msg, want) {
		t.Errorf("message = %q, want it to contain %q", msg, want)
	}
}

const callbackScript = `
def main(s):
    s.say("Do you want a callback?")
    a = s.listen(timeout = 5, expect = ["yes", "no"])
    if a == None:
        s.say("I did not hear you.")
        s.set("result", "silence")
        s.hangup()
    elif a.lower() == "yes":
        s.say("We will call you back.")
        s.set("result", "yes")
        s.set("callback", True)
    else:
        s.say("Goodbye.")
        s.set("result", "no")
`

func TestBranching(t *testing.T) {
	tests := []struct {
		answer  string // "" is silence
		log     []string
		kind    string
		outputs map[string]string
	}{
		{"Yes", []string{"say: Do you want a callback?", "listen 5s [yes|no]: Yes", "say: We will call you back."},
			Completed, map[string]string{"result": "yes", "callback": "true"}},
		{"no", []string{"say: Do you want a callback?", "listen 5s [yes|no]: no", "say: Goodbye."},
			Completed, map[string]string{"result": "no"}},
		{"", []string{"say: Do you want a callback?", "listen 5s [yes|no]: <silence>", "say: I did not hear you."},
			Hangup, map[string]string{"result": "silence"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("answer %q", tt.answer), func(t *testing.T) {
			h := &fakeHost{answers: answers(tt.answer)}
			out, err := run(t, callbackScript, h, Config{Outputs: []string{"result", "callback"}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.log, tt.log) {
				t.Errorf("log = %q, want %q", h.log, tt.log)
			}
			if out.Kind != tt.kind || !maps.Equal(out.Outputs, tt.outputs) {
				t.Errorf("outcome = %+v, want %s with %v", out, tt.kind, tt.outputs)
			}
		})
	}
}

func TestSetConvertsToJSON(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`"text"`, "text"},
		{`""`, ""},
		{`3`, "3"},
		{`-12345678901234567890`, "-12345678901234567890"},
		{`1.5`, "1.5"},
		{`True`, "true"},
		{`False`, "false"},
		{`None`, "null"},
		{`[1, "a", True, None]`, `[1,"a",true,null]`},
		{`(1, 2)`, "[1,2]"},
		{`{"b": 1, "a": [2]}`, `{"a":[2],"b":1}`},
		{`"say \"hi\""`, `say "hi"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			out, err := run(t, "def main(s):\n    s.set(\"v\", "+tt.expr+")\n", &fakeHost{}, Config{Outputs: []string{"v"}})
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := out.Outputs["v"]; !ok || got != tt.want {
				t.Errorf("Outputs[v] = %q (set: %v), want %q", got, ok, tt.want)
			}
		})
	}
}

func TestScriptErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown output", "def main(s):\n    s.set(\"x\", 1)\n",
			"script t.star: line 2: unknown output entity 'x'"},
		{"unconvertible output", "def main(s):\n    s.set(\"v\", main)\n",
			"script t.star: line 2: set: cannot store function in 'v' as JSON"},
		{"dict with int keys", "def main(s):\n    s.set(\"v\", {1: 2})\n",
			"set: cannot store dict in 'v' as JSON"},
		{"say needs a string", "def main(s):\n    s.say(3)\n",
			"script t.star: line 2: say: for parameter text: got int, want string"},
		{"say needs an argument", "def main(s):\n    s.say()\n",
			"say: missing argument for text"},
		{"hangup takes nothing", "def main(s):\n    s.hangup(1)\n",
			"hangup: got 1 arguments, want at most 0"},
		{"transfer reason is a string", "def main(s):\n    s.transfer(reason = 1)\n",
			`transfer: for parameter "reason": got int, want string`},
		{"listen timeout zero", "def main(s):\n    s.listen(timeout = 0)\n",
			"listen: timeout must be a number of seconds, more than 0 and at most 300, not 0"},
		{"listen timeout too long for a call", "def main(s):\n    s.listen(timeout = 301)\n",
			"at most 300, not 301"},
		{"listen timeout string", "def main(s):\n    s.listen(timeout = \"5\")\n",
			`not "5"`},
		{"listen timeout bool", "def main(s):\n    s.listen(timeout = True)\n",
			"not True"},
		{"listen expect string", "def main(s):\n    s.listen(expect = \"yes\")\n",
			"listen: expect must be a list of strings or None, not string"},
		{"listen expect ints", "def main(s):\n    s.listen(expect = [\"yes\", 1])\n",
			"listen: expect[1] is a int, not a string"},
		{"listen end_silence too short", "def main(s):\n    s.listen(end_silence = 0.1)\n",
			"listen: end_silence must be a number of seconds from 0.2 to 5, or None, not 0.1"},
		{"listen end_silence too long", "def main(s):\n    s.listen(end_silence = 6)\n",
			"not 6"},
		{"listen end_silence string", "def main(s):\n    s.listen(end_silence = \"1\")\n",
			`not "1"`},
		{"no such method", "def main(s):\n    s.dial(\"112\")\n",
			"session has no .dial field or method"},
		{"session is read-only", "def main(s):\n    s.channel = \"chat\"\n",
			"line 2: can't assign to .channel field of session"},
		{"fail", "def main(s):\n    s.say(\"hi\")\n    fail(\"boom\")\n",
			"script t.star: line 3: fail: boom"},
		{"runtime error", "def main(s):\n    x = {}\n    s.say(x[\"missing\"])\n",
			"script t.star: line 3: key \"missing\" not in dict"},
		{"error in a helper", "def ask(s, q):\n    s.set(q, 1)\n\ndef main(s):\n    s.say(\"hi\")\n    ask(s, \"nope\")\n",
			"script t.star: line 2: unknown output entity 'nope' (in ask, called from main at line 6)"},
		{"error at top level", "x = 1 // 0\n\ndef main(s):\n    pass\n",
			"script t.star: line 1: floored division by zero"},
		{"recursion is off", "def f(n):\n    return f(n - 1)\n\ndef main(s):\n    f(3)\n",
			"called recursively"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.src, &fakeHost{}, Config{Outputs: []string{"v"}})
			wantScriptError(t, err, tt.want)
			if out.Kind != Failed {
				t.Errorf("Kind = %q, want %q", out.Kind, Failed)
			}
		})
	}
}

func TestOutputsKeptOnFailure(t *testing.T) {
	src := "def main(s):\n    s.set(\"a\", \"kept\")\n    s.set(\"b\", 2)\n    s.set(\"nope\", 3)\n    s.set(\"c\", 4)\n"
	out, err := run(t, src, &fakeHost{}, Config{Outputs: []string{"a", "b", "c"}})
	wantScriptError(t, err, "line 4: unknown output entity 'nope'")
	want := map[string]string{"a": "kept", "b": "2"}
	if out.Kind != Failed || !maps.Equal(out.Outputs, want) {
		t.Errorf("outcome = %+v, want %s with %v", out, Failed, want)
	}
}

func TestEndings(t *testing.T) {
	tests := []struct {
		name, src    string
		kind, reason string
		says         []string
	}{
		{"return", "def main(s):\n    s.say(\"a\")\n    return 42\n", Completed, "", []string{"say: a"}},
		{"fall off the end", "def main(s):\n    pass\n", Completed, "", nil},
		{"hangup", "def main(s):\n    s.say(\"a\")\n    s.hangup()\n    s.say(\"after\")\n", Hangup, "", []string{"say: a"}},
		{"transfer with reason", "def main(s):\n    s.transfer(reason = \"wants a human\")\n    s.say(\"after\")\n",
			Transfer, "wants a human", nil},
		{"transfer positional", "def main(s):\n    s.transfer(\"angry\")\n", Transfer, "angry", nil},
		{"transfer without reason", "def main(s):\n    s.transfer()\n", Transfer, "", nil},
		{"hangup deep in a loop", `
def bye(s):
    s.say("bye")
    s.hangup()
    s.say("after")

def main(s):
    for i in range(10):
        if i == 2:
            bye(s)
        s.say(str(i))
`, Hangup, "", []string{"say: 0", "say: 1", "say: bye"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{}
			out, err := run(t, tt.src, h, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if out.Kind != tt.kind || out.Reason != tt.reason {
				t.Errorf("outcome = %q %q, want %q %q", out.Kind, out.Reason, tt.kind, tt.reason)
			}
			if !slices.Equal(h.log, tt.says) {
				t.Errorf("log = %q, want %q", h.log, tt.says)
			}
		})
	}
}

func TestEntities(t *testing.T) {
	ents := map[string]string{"name": "Ann", "city": "Oslo", "amount": "12.50"}
	tests := []struct {
		name, body string
		log        []string
		err        string
	}{
		{"read", `s.say(s.entities["name"] + " from " + s.entities.get("city", "?"))`, []string{"say: Ann from Oslo"}, ""},
		{"missing with default", `s.say(s.entities.get("phone", "none"))`, []string{"say: none"}, ""},
		{"iterate in sorted order", `s.say(",".join([k for k in s.entities]))`, []string{"say: amount,city,name"}, ""},
		{"assign", `s.entities["name"] = "Bob"`, nil, "cannot insert into frozen hash table"},
		{"delete", `s.entities.pop("name")`, nil, "cannot delete from frozen hash table"},
		{"clear", `s.entities.clear()`, nil, "cannot clear frozen hash table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{}
			_, err := run(t, "def main(s):\n    "+tt.body+"\n", h, Config{Entities: ents})
			if tt.err != "" {
				wantScriptError(t, err, tt.err)
			} else if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.log, tt.log) {
				t.Errorf("log = %q, want %q", h.log, tt.log)
			}
		})
	}
	if ents["name"] != "Ann" || len(ents) != 3 {
		t.Errorf("the caller's entities changed: %v", ents)
	}
}

func TestChannel(t *testing.T) {
	for _, ch := range []string{Voice, Chat} {
		h := &fakeHost{}
		if _, err := run(t, "def main(s):\n    s.say(s.channel)\n", h, Config{Channel: ch}); err != nil {
			t.Fatal(err)
		}
		if want := []string{"say: " + ch}; !slices.Equal(h.log, want) {
			t.Errorf("log = %q, want %q", h.log, want)
		}
	}
	_, err := run(t, "def main(s):\n    pass\n", &fakeHost{}, Config{Channel: "sms"})
	wantScriptError(t, err, `channel "sms"`)
}

func TestListenArguments(t *testing.T) {
	src := `
def main(s):
    s.listen()
    s.listen(2.5)
    s.listen(timeout = 300, expect = ("a", "b"))
    s.listen(expect = [])
    s.listen(end_silence = 1.5)
    s.listen(5, None, 0.2)
    s.listen(end_silence = None)
`
	h := &fakeHost{}
	if _, err := run(t, src, h, Config{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"listen 10s: <silence>", "listen 2.5s: <silence>", "listen 5m0s [a|b]: <silence>", "listen 10s: <silence>",
		"listen 10s end 1.5s: <silence>", "listen 5s end 200ms: <silence>", "listen 10s: <silence>"}
	if !slices.Equal(h.log, want) {
		t.Errorf("log = %q, want %q", h.log, want)
	}
}

func TestEntryPoint(t *testing.T) {
	tests := []struct {
		name, src, entry, err string
	}{
		{"missing", "def start(s):\n    pass\n", "", "entry point main is not defined"},
		{"missing custom", "def main(s):\n    pass\n", "start", "entry point start is not defined"},
		{"custom", "def start(s):\n    s.say(\"started\")\n", "start", ""},
		{"not a function", "main = 3\n", "", "entry point main must be a function, not int"},
		{"no parameter", "def main():\n    pass\n", "", "line 1: entry point main must take exactly one parameter, s"},
		{"two parameters", "def main(s, t):\n    pass\n", "", "must take exactly one parameter"},
		{"varargs", "def main(*args):\n    pass\n", "", "must take exactly one parameter"},
		{"kwargs", "def main(s, **kw):\n    pass\n", "", "must take exactly one parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile("t.star", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			h := &fakeHost{}
			out, err := p.Run(context.Background(), tt.entry, h, Config{Channel: Chat})
			if tt.err == "" {
				if err != nil || out.Kind != Completed || len(h.log) != 1 {
					t.Errorf("Run = %+v, %v; log %q", out, err, h.log)
				}
				return
			}
			wantScriptError(t, err, tt.err)
			if out == nil || out.Kind != Failed {
				t.Errorf("outcome = %+v, want %s", out, Failed)
			}
		})
	}
}

func TestContextCancelledDuringListen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &fakeHost{onListen: func(ctx context.Context) (string, bool, error) {
		cancel() // the caller hangs up while the script waits
		<-ctx.Done()
		return "", false, ctx.Err()
	}}
	p, err := Compile("t.star", "def main(s):\n    s.set(\"v\", \"before\")\n    s.listen()\n    s.say(\"after\")\n")
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(ctx, "", h, Config{Channel: Voice, Outputs: []string{"v"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if out.Kind != Failed || out.Outputs["v"] != "before" {
		t.Errorf("outcome = %+v, want failed with v=before", out)
	}
	if want := []string{"listen 10s"}; !slices.Equal(h.log, want) {
		t.Errorf("log = %q, want %q", h.log, want)
	}
}

func TestContextCancelledWhileComputing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The loop only ends by cancellation: the limits are far away.
	h := &fakeHost{onSay: func(string) { cancel() }}
	p, err := Compile("t.star", "def main(s):\n    s.say(\"start\")\n    while True:\n        pass\n")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(ctx, "", h, Config{Channel: Voice, MaxSteps: 1 << 62, TurnTimeout: 1 << 62})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestContextCancelledBeforeRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := Compile("t.star", "def main(s):\n    s.say(\"hi\")\n")
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{}
	if _, err := p.Run(ctx, "", h, Config{Channel: Voice}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(h.log) != 0 {
		t.Errorf("log = %q, want nothing", h.log)
	}
}

func TestHostErrorPassesThrough(t *testing.T) {
	dropped := errors.New("line dropped")
	h := &fakeHost{sayErr: dropped}
	out, err := run(t, "def main(s):\n    s.say(\"hi\")\n    s.say(\"again\")\n", h, Config{})
	if !errors.Is(err, dropped) {
		t.Fatalf("err = %v, want it to wrap %v", err, dropped)
	}
	if code := parley.ErrorCode(err); code != parley.EINTERNAL {
		t.Errorf("ErrorCode = %q: a host failure is not the script's fault", code)
	}
	if out.Kind != Failed || len(h.log) != 1 {
		t.Errorf("outcome = %+v, log %q", out, h.log)
	}
}

// A script exercising everything whose order could vary: entity and dict
// iteration, sets, sorting, formatting of floats and ints.
const deterministicScript = `
def main(s):
    seen = {}
    words = set()
    for k in s.entities:
        s.say("%s=%s" % (k, s.entities[k]))
    for i in range(4):
        a = s.listen(expect = sorted(s.entities.keys()))
        if a == None:
            s.say("silence %d" % i)
            continue
        for w in a.split(" "):
            seen[w] = seen.get(w, 0) + 1
            words.add(w)
        s.say(" ".join(["%s:%d" % (w, n) for w, n in seen.items()]))
    s.say(str(list(words)) + " " + str(1.0 / 3) + " " + str(hash("x")))
    s.set("seen", seen)
    s.set("words", list(words))
`

func TestDeterminism(t *testing.T) {
	ents := map[string]string{}
	for i := range 20 {
		ents[fmt.Sprintf("k%02d", i)] = fmt.Sprint(i * i)
	}
	cfg := Config{Entities: ents, Outputs: []string{"seen", "words"}}
	var firstLog []string
	var firstOut map[string]string
	for i := range 5 {
		h := &fakeHost{answers: answers("b a c", "", "c b", "z a")}
		out, err := run(t, deterministicScript, h, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstLog, firstOut = h.log, out.Outputs
			continue
		}
		if !slices.Equal(h.log, firstLog) {
			t.Fatalf("run %d log = %q\nrun 0 log = %q", i, h.log, firstLog)
		}
		if !maps.Equal(out.Outputs, firstOut) {
			t.Fatalf("run %d outputs = %v, run 0 = %v", i, out.Outputs, firstOut)
		}
	}
	if want := `{"a":2,"b":2,"c":2,"z":1}`; firstOut["seen"] != want {
		t.Errorf("seen = %s, want %s", firstOut["seen"], want)
	}
	if want := `["b","a","c","z"]`; firstOut["words"] != want {
		t.Errorf("words = %s, want %s (insertion order)", firstOut["words"], want)
	}
}

func TestConcurrentRunsOfOneProgram(t *testing.T) {
	p, err := Compile("t.star", "counter = []\n\ndef main(s):\n    counter.append(1)\n    s.set(\"v\", s.entities[\"n\"] + \":\" + str(len(counter)))\n")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			n := fmt.Sprint(i)
			out, err := p.Run(context.Background(), "", &fakeHost{}, Config{Channel: Chat, Entities: map[string]string{"n": n}, Outputs: []string{"v"}})
			if err == nil && out.Outputs["v"] != n+":1" {
				err = fmt.Errorf("run %d: v = %q: runs share state", i, out.Outputs["v"])
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestListenTimeoutInChat: in a chat the listen timeout does not apply
// (the script waits for the next message), so a timeout a call would
// refuse runs; one that is wrong on every channel fails there too.
func TestListenTimeoutInChat(t *testing.T) {
	src := "def main(s):\n    a = s.listen(timeout = 600)\n    s.say(\"heard \" + a)\n"
	h := &fakeHost{answers: answers("yes")}
	out, err := run(t, src, h, Config{Channel: Chat})
	if err != nil || out.Kind != Completed {
		t.Fatalf("chat, timeout 600: %+v, %v", out, err)
	}
	_, err = run(t, src, &fakeHost{answers: answers("yes")}, Config{Channel: Voice})
	wantScriptError(t, err, "at most 300, not 600")
	_, err = run(t, "def main(s):\n    s.listen(timeout = -1)\n", &fakeHost{}, Config{Channel: Chat})
	wantScriptError(t, err, "listen: timeout must be a number of seconds, more than 0, not -1")
}
