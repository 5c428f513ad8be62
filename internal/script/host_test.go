package script

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// fakeHost records what a script says and hears, and answers listen calls
// from a script of its own: a nil answer is silence.
type fakeHost struct {
	answers []*string
	log     []string // "say: text" and "listen 10s [a b]: answer"
	sayErr  error
	// onSay, if set, is called with every text said.
	onSay func(text string)
	// onListen, if set, replaces the scripted answers.
	onListen func(ctx context.Context) (string, bool, error)
}

func (h *fakeHost) Say(ctx context.Context, text string) error {
	h.log = append(h.log, "say: "+text)
	if h.onSay != nil {
		h.onSay(text)
	}
	return h.sayErr
}

func (h *fakeHost) Listen(ctx context.Context, timeout time.Duration, expect []string) (string, bool, error) {
	entry := fmt.Sprintf("listen %s", timeout)
	if o := ListenOptionsFrom(ctx); o.EndSilence > 0 {
		entry += fmt.Sprintf(" end %s", o.EndSilence)
	}
	if len(expect) > 0 {
		entry += " [" + strings.Join(expect, "|") + "]"
	}
	if h.onListen != nil {
		h.log = append(h.log, entry)
		return h.onListen(ctx)
	}
	var a *string
	if len(h.answers) > 0 {
		a, h.answers = h.answers[0], h.answers[1:]
	}
	if a == nil {
		h.log = append(h.log, entry+": <silence>")
		return "", false, nil
	}
	h.log = append(h.log, entry+": "+*a)
	return *a, true, nil
}

// answers builds scripted answers; "" stands for silence.
func answers(as ...string) []*string {
	out := make([]*string, len(as))
	for i := range as {
		if as[i] != "" {
			out[i] = &as[i]
		}
	}
	return out
}
