package script

import (
	"fmt"
	"strings"
	"unicode"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// guards are the predeclared names of every script: the guard built-ins
// the rewrite calls (rewrite.go) and guarded versions of the universal
// built-ins that build in bulk, which shadow them. Each guard charges the
// size of what it is about to build to the run's budget (runner.charge),
// then does what the plain operation does, with its errors.
var guards = starlark.StringDict{
	guardBinop:  starlark.NewBuiltin(guardBinop, binopGuard),
	guardAug:    starlark.NewBuiltin(guardAug, augGuard),
	guardAttr:   starlark.NewBuiltin(guardAttr, attrGuard),
	guardSpread: starlark.NewBuiltin(guardSpread, spreadGuard),
	"list":      building("list", slotBytes, "a list"),
	"tuple":     building("tuple", slotBytes, "a tuple"),
	"set":       building("set", entryBytes, "a set"),
	"dict":      building("dict", entryBytes, "a dict"),
	"sorted":    building("sorted", 2*slotBytes, "a sorted list"),
	"reversed":  building("reversed", slotBytes, "a reversed list"),
	"enumerate": building("enumerate", tupleBytes+3*slotBytes, "an enumerated list"),
	"zip":       starlark.NewBuiltin("zip", zipGuard),
	"bytes":     starlark.NewBuiltin("bytes", bytesGuard),
	"str":       texting("str", false),
	"repr":      texting("repr", true),
	"fail":      texting("fail", false),
	"getattr":   starlark.NewBuiltin("getattr", getattrGuard),
	"print":     starlark.NewBuiltin("print", printDiscarded),
}

func isGuard(name string) bool { _, ok := guards[name]; return ok }

const runnerKey = "parley.script.runner"

func runnerOf(thread *starlark.Thread) *runner { return thread.Local(runnerKey).(*runner) }

func universal(name string) *starlark.Builtin { return starlark.Universe[name].(*starlark.Builtin) }

// binopGuard is x op y.
func binopGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	op, x, y := syntax.Token(mustInt(args[0])), args[1], args[2]
	if err := chargeBinary(runnerOf(thread), op, x, y, false); err != nil {
		return nil, err
	}
	return starlark.Binary(op, x, y)
}

// augGuard answers y once x op= y is affordable; the assignment does the
// operation (in place for lists and +=).
func augGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	op, x, y := syntax.Token(mustInt(args[0])), args[1], args[2]
	if err := chargeBinary(runnerOf(thread), op, x, y, true); err != nil {
		return nil, err
	}
	return y, nil
}

func mustInt(v starlark.Value) int64 { n, _ := v.(starlark.Int).Int64(); return n }

// chargeBinary charges what x op y builds.
func chargeBinary(r *runner, op syntax.Token, x, y starlark.Value, inPlace bool) error {
	switch op {
	case syntax.STAR:
		seq, n := x, y
		if _, ok := x.(starlark.Int); ok {
			seq, n = y, x
		}
		times, ok := n.(starlark.Int)
		if !ok {
			return nil // not a repetition: the operation builds nothing big, or fails
		}
		k, exact := times.Int64()
		if !exact {
			k = 1 << 62
		}
		switch s := seq.(type) {
		case starlark.String:
			return r.charge(mul(int64(len(s)), k), func() string { return fmt.Sprintf("a string of %d × %d bytes", k, len(s)) })
		case starlark.Bytes:
			return r.charge(mul(int64(len(s)), k), func() string { return fmt.Sprintf("bytes of %d × %d bytes", k, len(s)) })
		case *starlark.List:
			return r.charge(mul(mul(int64(s.Len()), k), slotBytes), func() string { return fmt.Sprintf("a list of %d × %d elements", k, s.Len()) })
		case starlark.Tuple:
			return r.charge(mul(mul(int64(len(s)), k), slotBytes), func() string { return fmt.Sprintf("a tuple of %d × %d elements", k, len(s)) })
		case starlark.Int:
			return chargeInt(r, add(bigIntBits(s), bigIntBits(times)))
		}
	case syntax.PLUS:
		switch a := x.(type) {
		case starlark.String:
			if b, ok := y.(starlark.String); ok {
				n := int64(len(a)) + int64(len(b))
				return r.charge(n, func() string { return fmt.Sprintf("a string of %d bytes", n) })
			}
		case starlark.Bytes:
			if b, ok := y.(starlark.Bytes); ok {
				n := int64(len(a)) + int64(len(b))
				return r.charge(n, func() string { return fmt.Sprintf("bytes of %d bytes", n) })
			}
		case *starlark.List:
			if ny, ok := lengthOf(y); ok {
				n := ny
				if !inPlace {
					n += int64(a.Len())
				}
				return r.charge(mul(n, slotBytes), func() string { return fmt.Sprintf("a list of %d elements", int64(a.Len())+ny) })
			}
		case starlark.Tuple:
			if b, ok := y.(starlark.Tuple); ok {
				n := int64(len(a)) + int64(len(b))
				return r.charge(mul(n, slotBytes), func() string { return fmt.Sprintf("a tuple of %d elements", n) })
			}
		}
	case syntax.PERCENT:
		if f, ok := x.(starlark.String); ok {
			return chargeFormat(r, string(f), '%', y)
		}
	case syntax.LTLT:
		if a, ok := x.(starlark.Int); ok {
			if b, ok := y.(starlark.Int); ok {
				shift, exact := b.Int64()
				if !exact || shift < 0 || shift >= 512 {
					return nil // refused by the operation itself
				}
				return chargeInt(r, bigIntBits(a)+shift)
			}
		}
	}
	return nil
}

// maxIntBits bounds the numbers * and << build: multiplying numbers takes
// time more than linear in their size, and no limit can stop an
// operation in the middle, so one step of squaring a number of a few
// megabytes would run for minutes.
const maxIntBits = 1 << 20

// chargeInt charges a big number of bits bits, twice (the operation's
// temporaries); numbers of a word or less take no memory of their own.
func chargeInt(r *runner, bits int64) error {
	if bits <= 64 {
		return nil
	}
	if bits > maxIntBits {
		return &memoryError{what: fmt.Sprintf("a number of %d bits", bits), limit: fmt.Sprintf("%d bits per number", maxIntBits), perValue: true}
	}
	return r.charge(bits/4+16, func() string { return fmt.Sprintf("a number of %d bits", bits) })
}

// chargeFormat charges "..." % args and "...".format(args): the template
// plus, for each conversion in it, the longest text of an argument.
func chargeFormat(r *runner, template string, mark byte, args ...starlark.Value) error {
	conversions := int64(strings.Count(template, string(mark)))
	quoted := strings.Contains(template, "%r") // %r, and {!r} below, write strings quoted
	if mark == '{' {
		quoted = strings.Contains(template, "!r")
	}
	var values []starlark.Value
	for _, a := range args {
		switch a := a.(type) {
		case starlark.Tuple:
			values = append(values, a...)
		case *starlark.Dict:
			for _, kv := range a.Items() {
				values = append(values, kv[1])
			}
		default:
			values = append(values, a)
		}
	}
	room := r.maxAlloc - r.allocated
	longest := int64(0)
	for _, v := range values {
		longest = max(longest, textSize(v, quoted, room))
	}
	n := add(int64(len(template)), mul(conversions, longest))
	return r.charge(n, func() string { return "a formatted string of " + textBytes(n, room) })
}

// attrGuard is x.name: a method that builds in bulk comes back guarded.
func attrGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, name := args[0], string(args[1].(starlark.String))
	ha, ok := x.(starlark.HasAttrs)
	if !ok {
		return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}
	v, err := ha.Attr(name)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}
	return guardMethod(x, name, v), nil
}

// guardMethod wraps the bound method v = x.name if it builds in bulk.
func guardMethod(x starlark.Value, name string, v starlark.Value) starlark.Value {
	m, ok := v.(*starlark.Builtin)
	if !ok || m.Receiver() == nil {
		return v
	}
	var cost func(r *runner, args starlark.Tuple, kwargs []starlark.Tuple) error
	switch recv := x.(type) {
	case starlark.String:
		cost = stringMethodCost(string(recv), name)
	case *starlark.List:
		if name == "extend" {
			cost = func(r *runner, args starlark.Tuple, _ []starlark.Tuple) error {
				return chargeElements(r, args, slotBytes, "%d more elements of a list")
			}
		}
	case *starlark.Dict:
		if name == "update" {
			cost = func(r *runner, args starlark.Tuple, kwargs []starlark.Tuple) error {
				if err := chargeElements(r, args, entryBytes, "%d more entries of a dict"); err != nil {
					return err
				}
				return r.charge(mul(int64(len(kwargs)), entryBytes), func() string { return "a dict" })
			}
		}
	case *starlark.Set:
		cost = func(r *runner, args starlark.Tuple, _ []starlark.Tuple) error {
			if err := chargeElements(r, args, entryBytes, "a set of %d more elements"); err != nil {
				return err
			}
			return r.charge(mul(int64(recv.Len()), entryBytes), func() string { return "a set" })
		}
	}
	if cost == nil {
		return v
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := cost(runnerOf(thread), args, kwargs); err != nil {
			return nil, err
		}
		return starlark.Call(thread, m, args, kwargs)
	}).BindReceiver(x)
}

// stringMethodCost is what s.name(...) builds, for the methods of strings
// that build more than their receiver.
func stringMethodCost(s, name string) func(r *runner, args starlark.Tuple, kwargs []starlark.Tuple) error {
	switch name {
	case "join":
		return func(r *runner, args starlark.Tuple, _ []starlark.Tuple) error {
			if len(args) != 1 {
				return nil // join says what is wrong
			}
			var n, count int64
			if err := eachElement(args[0], func(v starlark.Value) bool {
				if str, ok := v.(starlark.String); ok {
					n = add(n, int64(len(str)))
				}
				count++
				return n <= r.maxAlloc
			}); err != nil {
				return nil
			}
			n = add(n, mul(max(count-1, 0), int64(len(s))))
			return r.charge(n, func() string { return fmt.Sprintf("a joined string of %d bytes", n) })
		}
	case "replace":
		return func(r *runner, args starlark.Tuple, _ []starlark.Tuple) error {
			if len(args) < 2 {
				return nil
			}
			old, ok1 := args[0].(starlark.String)
			repl, ok2 := args[1].(starlark.String)
			if !ok1 || !ok2 || len(repl) <= len(old) {
				return nil // not longer than s
			}
			k := int64(strings.Count(s, string(old)))
			if len(args) > 2 {
				if c, ok := args[2].(starlark.Int); ok {
					if c64, ok := c.Int64(); ok && c64 >= 0 {
						k = min(k, c64)
					}
				}
			}
			n := add(int64(len(s)), mul(k, int64(len(repl)-len(old))))
			return r.charge(n, func() string { return fmt.Sprintf("a string of %d bytes", n) })
		}
	case "format":
		return func(r *runner, args starlark.Tuple, kwargs []starlark.Tuple) error {
			values := append(starlark.Tuple{}, args...)
			for _, kv := range kwargs {
				values = append(values, kv[1])
			}
			return chargeFormat(r, s, '{', values)
		}
	case "split", "rsplit", "splitlines":
		return func(r *runner, args starlark.Tuple, _ []starlark.Tuple) error {
			var pieces int64
			switch {
			case name == "splitlines":
				pieces = int64(strings.Count(s, "\n")) + 1
			case len(args) > 0 && args[0] != starlark.None:
				sep, ok := args[0].(starlark.String)
				if !ok || len(sep) == 0 {
					return nil // split says what is wrong
				}
				pieces = int64(strings.Count(s, string(sep))) + 1
			default:
				pieces = fields(s)
			}
			n := mul(pieces, slotBytes+stringHead)
			return r.charge(n, func() string { return fmt.Sprintf("a list of %d strings", pieces) })
		}
	}
	return nil
}

// fields counts the whitespace-separated words of s.
func fields(s string) int64 {
	var n int64
	in := false
	for _, c := range s {
		space := unicode.IsSpace(c)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

// chargeElements charges each iterable argument's elements at per bytes;
// what says what they make, with a %d for their number.
func chargeElements(r *runner, args starlark.Tuple, per int64, what string) error {
	for _, a := range args {
		n, err := countOf(a, r.maxAlloc/per+1)
		if err != nil {
			return nil // not iterable: the operation says so
		}
		if err := r.charge(mul(n, per), func() string { return fmt.Sprintf(what, n) }); err != nil {
			return err
		}
	}
	return nil
}

// countOf is the number of elements x yields, counted up to limit if its
// length is not known otherwise.
func countOf(x starlark.Value, limit int64) (int64, error) {
	if n, ok := lengthOf(x); ok {
		return n, nil
	}
	var n int64
	err := eachElement(x, func(starlark.Value) bool { n++; return n <= limit })
	return n, err
}

// eachElement calls f for x's elements until f says stop.
func eachElement(x starlark.Value, f func(starlark.Value) bool) error {
	if s, ok := x.(starlark.Indexable); ok {
		for i := range s.Len() {
			if !f(s.Index(i)) {
				break
			}
		}
		return nil
	}
	it, ok := x.(starlark.Iterable)
	if !ok {
		return fmt.Errorf("%s is not iterable", x.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var v starlark.Value
	for iter.Next(&v) {
		if !f(v) {
			break
		}
	}
	return nil
}

// spreadGuard answers it once the tuple f(*it) builds is affordable.
func spreadGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if err := chargeElements(runnerOf(thread), args[:1], slotBytes, "a call with %d arguments"); err != nil {
		return nil, err
	}
	return args[0], nil
}

// building guards a universal built-in that builds a collection (what) of
// its first argument's elements, per bytes each.
func building(name string, per int64, what string) *starlark.Builtin {
	orig := universal(name)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		r := runnerOf(thread)
		if len(args) > 0 {
			if err := chargeElements(r, args[:1], per, what+" of %d elements"); err != nil {
				return nil, err
			}
		}
		if err := r.charge(mul(int64(len(kwargs)), per), func() string { return what }); err != nil {
			return nil, err
		}
		return starlark.Call(thread, orig, args, kwargs)
	})
}

// zipGuard: zip builds a tuple per element of its shortest argument.
func zipGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r := runnerOf(thread)
	if len(args) > 0 {
		shortest := int64(-1)
		for _, a := range args {
			n, err := countOf(a, r.maxAlloc/slotBytes+1)
			if err != nil {
				shortest = 0
				break
			}
			if shortest < 0 || n < shortest {
				shortest = n
			}
		}
		per := int64(tupleBytes + slotBytes + slotBytes*len(args))
		if err := r.charge(mul(shortest, per), func() string { return fmt.Sprintf("a zip of %d tuples", shortest) }); err != nil {
			return nil, err
		}
	}
	return starlark.Call(thread, universal("zip"), args, kwargs)
}

// bytesGuard: bytes of a string copies it; of an iterable, a byte each.
func bytesGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r := runnerOf(thread)
	if len(args) == 1 {
		switch a := args[0].(type) {
		case starlark.String:
			if err := r.charge(int64(len(a)), func() string { return "bytes" }); err != nil {
				return nil, err
			}
		case starlark.Bytes:
		default:
			if err := chargeElements(r, args, 1, "bytes of %d bytes"); err != nil {
				return nil, err
			}
		}
	}
	return starlark.Call(thread, universal("bytes"), args, kwargs)
}

// texting guards a built-in that writes its arguments as text.
func texting(name string, quoted bool) *starlark.Builtin {
	orig := universal(name)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		r := runnerOf(thread)
		room := r.maxAlloc - r.allocated
		var n int64
		for _, a := range args {
			if _, isString := a.(starlark.String); isString && name == "str" {
				continue // str of a string is the string
			}
			n = add(n, textSize(a, quoted, room))
		}
		if err := r.charge(n, func() string { return "a text of " + textBytes(n, room) }); err != nil {
			return nil, err
		}
		return starlark.Call(thread, orig, args, kwargs)
	})
}

// textBytes says how long a text is: its estimate, or "more than" the
// room left if the estimate stopped there.
func textBytes(n, room int64) string {
	if n > room {
		return fmt.Sprintf("more than %d bytes", room)
	}
	return fmt.Sprintf("up to %d bytes", n)
}

// getattrGuard is getattr, whose methods come back guarded as x.name's do.
func getattrGuard(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := starlark.Call(thread, universal("getattr"), args, kwargs)
	if err != nil || len(args) < 2 {
		return v, err
	}
	if name, ok := args[1].(starlark.String); ok && bulkMethods[string(name)] {
		return guardMethod(args[0], string(name), v), nil
	}
	return v, nil
}

// printDiscarded is print without writing anything: scripts have nowhere
// to print to, so the text is not even built.
func printDiscarded(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	for _, kv := range kwargs {
		if k, _ := starlark.AsString(kv[0]); k != "sep" {
			return nil, fmt.Errorf("print: unexpected keyword argument %s", kv[0])
		}
		if _, ok := kv[1].(starlark.String); !ok && kv[1] != starlark.None {
			return nil, fmt.Errorf("print: for parameter sep: got %s, want string", kv[1].Type())
		}
	}
	return starlark.None, nil
}
