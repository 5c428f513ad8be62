package script

import (
	"fmt"
	"strings"

	"go.starlark.net/syntax"
)

// Starlark counts steps but not memory: one step can build a list of a
// hundred million elements ("[0] * 100000000", 1.6 GB). The interpreter
// offers no hook for its operators, so Compile rewrites the syntax tree
// before compiling it: every operation that can allocate more than a few
// bytes in one step goes through a guard, a predeclared built-in that
// charges the size of the result to the run's memory budget before doing
// the operation (memory.go), and fails the run past it:
//
//   - the binary operators that build sequences or big numbers (x * y,
//     x + y, x % y, x << y) and their augmented forms (x *= y, ...), unless
//     an operand is a number literal that makes the result small;
//   - the methods that build in bulk (",".join(l), s.replace(a, b),
//     "{}".format(x), s.split(), l.extend(it), d.update(it), set unions...),
//     wherever their value is taken (x.join is a guarded method value);
//   - f(*it), which builds a tuple of it;
//   - the built-ins that build (list, tuple, dict, set, sorted, reversed,
//     zip, enumerate, str, repr, bytes, fail, getattr), shadowed by guarded
//     versions; print, whose text is discarded, no longer builds it.
//
// Growth one element per step (appends, comprehensions, d[k] = v) is
// bounded by the run's step budget instead.
//
// Guards are ordinary predeclared names, so the names they use are
// reserved: a script may not use identifiers starting with guardPrefix.

const guardPrefix = "_parley_"

// Names of the guard built-ins the rewrite calls.
const (
	guardBinop  = guardPrefix + "binop"  // (op, x, y): x op y
	guardAug    = guardPrefix + "aug"    // (op, x, y): y, once x op= y is affordable
	guardAttr   = guardPrefix + "attr"   // (x, name): x.name, guarded if it builds in bulk
	guardSpread = guardPrefix + "spread" // (it): it, once a tuple of it is affordable
)

// guardedOps are the binary operators whose result can be large.
var guardedOps = map[syntax.Token]bool{syntax.STAR: true, syntax.PLUS: true, syntax.PERCENT: true, syntax.LTLT: true}

// augOps maps augmented assignment tokens to their operators.
var augOps = map[syntax.Token]syntax.Token{syntax.STAR_EQ: syntax.STAR, syntax.PLUS_EQ: syntax.PLUS,
	syntax.PERCENT_EQ: syntax.PERCENT, syntax.LTLT_EQ: syntax.LTLT}

// bulkMethods are the methods (of strings, bytes, lists, dicts and sets)
// that can build more than a few bytes in one call. A DotExpr naming one
// goes through guardAttr, whatever its receiver.
var bulkMethods = map[string]bool{
	"join": true, "replace": true, "format": true, "split": true, "rsplit": true, "splitlines": true,
	"extend": true, "update": true, "union": true, "difference": true, "intersection": true,
	"symmetric_difference": true, "issubset": true, "issuperset": true,
}

// rewriter inserts the guards into a parsed file.
type rewriter struct {
	err error
}

// guardFile checks that the file uses no reserved name, then rewrites it.
func guardFile(f *syntax.File) error {
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && err == nil && strings.HasPrefix(id.Name, guardPrefix) {
			err = syntax.Error{Pos: id.NamePos, Msg: fmt.Sprintf("names starting with %s are reserved", guardPrefix)}
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	rw := &rewriter{}
	rw.stmts(f.Stmts)
	return rw.err
}

func (rw *rewriter) stmts(list []syntax.Stmt) {
	for _, s := range list {
		rw.stmt(s)
	}
}

func (rw *rewriter) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		if op, ok := augOps[s.Op]; ok {
			if hasCall(s.LHS) {
				// The guard reads the target once more before the
				// assignment does; a call there would run twice.
				rw.fail(s.OpPos, "an augmented assignment (%s) cannot have a call in its target: assign the call's result to a variable first", s.Op)
				return
			}
			read := rw.expr(cloneExpr(s.LHS))
			s.LHS = rw.target(s.LHS)
			s.RHS = call(guardAug, s.OpPos, opLiteral(op, s.OpPos), read, rw.expr(s.RHS))
			return
		}
		s.LHS = rw.target(s.LHS)
		s.RHS = rw.expr(s.RHS)
	case *syntax.DefStmt:
		rw.params(s.Params)
		rw.stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = rw.expr(s.X)
	case *syntax.ForStmt:
		s.Vars = rw.target(s.Vars)
		s.X = rw.expr(s.X)
		rw.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rw.expr(s.Cond)
		rw.stmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = rw.expr(s.Cond)
		rw.stmts(s.True)
		rw.stmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rw.expr(s.Result)
		}
	case *syntax.BranchStmt, *syntax.LoadStmt:
	default:
		rw.fail(syntax.Position{}, "unexpected statement %T", s)
	}
}

// target rewrites the expressions inside an assignment target (indexes,
// receivers) but keeps its shape: names stay names.
func (rw *rewriter) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		return e
	case *syntax.IndexExpr:
		e.X = rw.expr(e.X)
		e.Y = rw.expr(e.Y)
		return e
	case *syntax.DotExpr:
		e.X = rw.expr(e.X) // the attribute assigned to is not read: no guard
		return e
	case *syntax.TupleExpr:
		for i, x := range e.List {
			e.List[i] = rw.target(x)
		}
		return e
	case *syntax.ListExpr:
		for i, x := range e.List {
			e.List[i] = rw.target(x)
		}
		return e
	case *syntax.ParenExpr:
		e.X = rw.target(e.X)
		return e
	}
	return rw.expr(e) // not a valid target: the resolver says so
}

// params rewrites default values; the names stay.
func (rw *rewriter) params(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = rw.expr(b.Y)
		}
	}
}

func (rw *rewriter) exprs(list []syntax.Expr) {
	for i, e := range list {
		list[i] = rw.expr(e)
	}
}

func (rw *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *syntax.Ident, *syntax.Literal:
		return e
	case *syntax.BinaryExpr:
		e.X, e.Y = rw.expr(e.X), rw.expr(e.Y)
		if !guardedOps[e.Op] || smallResult(e.Op, e.X, e.Y) {
			return e
		}
		return call(guardBinop, e.OpPos, opLiteral(e.Op, e.OpPos), e.X, e.Y)
	case *syntax.UnaryExpr:
		e.X = rw.expr(e.X)
		return e
	case *syntax.CallExpr:
		e.Fn = rw.expr(e.Fn)
		for i, a := range e.Args {
			switch a := a.(type) {
			case *syntax.BinaryExpr:
				if a.Op == syntax.EQ { // name=value
					a.Y = rw.expr(a.Y)
					continue
				}
			case *syntax.UnaryExpr:
				switch a.Op {
				case syntax.STAR: // *it builds a tuple of it
					a.X = call(guardSpread, a.OpPos, rw.expr(a.X))
					continue
				case syntax.STARSTAR: // **d: the dict exists already
					a.X = rw.expr(a.X)
					continue
				}
			}
			e.Args[i] = rw.expr(a)
		}
		return e
	case *syntax.DotExpr:
		e.X = rw.expr(e.X)
		if !bulkMethods[e.Name.Name] {
			return e
		}
		name := &syntax.Literal{Token: syntax.STRING, TokenPos: e.NamePos, Raw: fmt.Sprintf("%q", e.Name.Name), Value: e.Name.Name}
		return call(guardAttr, e.Dot, e.X, name)
	case *syntax.IndexExpr:
		e.X, e.Y = rw.expr(e.X), rw.expr(e.Y)
		return e
	case *syntax.SliceExpr:
		e.X, e.Lo, e.Hi, e.Step = rw.expr(e.X), rw.expr(e.Lo), rw.expr(e.Hi), rw.expr(e.Step)
		return e
	case *syntax.ParenExpr:
		e.X = rw.expr(e.X)
		return e
	case *syntax.ListExpr:
		rw.exprs(e.List)
		return e
	case *syntax.TupleExpr:
		rw.exprs(e.List)
		return e
	case *syntax.DictExpr:
		for _, x := range e.List {
			if d, ok := x.(*syntax.DictEntry); ok {
				d.Key, d.Value = rw.expr(d.Key), rw.expr(d.Value)
			}
		}
		return e
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = rw.expr(e.Cond), rw.expr(e.True), rw.expr(e.False)
		return e
	case *syntax.Comprehension:
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars = rw.target(c.Vars)
				c.X = rw.expr(c.X)
			case *syntax.IfClause:
				c.Cond = rw.expr(c.Cond)
			}
		}
		if d, ok := e.Body.(*syntax.DictEntry); ok {
			d.Key, d.Value = rw.expr(d.Key), rw.expr(d.Value)
		} else {
			e.Body = rw.expr(e.Body)
		}
		return e
	case *syntax.LambdaExpr:
		rw.params(e.Params)
		e.Body = rw.expr(e.Body)
		return e
	case *syntax.DictEntry:
		e.Key, e.Value = rw.expr(e.Key), rw.expr(e.Value)
		return e
	}
	start, _ := e.Span()
	rw.fail(start, "unexpected expression %T", e)
	return e
}

// smallResult reports whether x op y cannot be large whatever the values:
// with a number literal, + and % cannot build a sequence (n + s fails, and
// s % n formats one number into an existing string), and numbers alone
// stay small for * and <<.
func smallResult(op syntax.Token, x, y syntax.Expr) bool {
	xn, yn := isNumber(x), isNumber(y)
	switch op {
	case syntax.PLUS, syntax.PERCENT:
		return xn || yn
	case syntax.STAR, syntax.LTLT:
		return xn && yn
	}
	return false
}

func isNumber(e syntax.Expr) bool {
	if l, ok := e.(*syntax.Literal); ok {
		return l.Token == syntax.INT || l.Token == syntax.FLOAT
	}
	return false
}

// hasCall reports whether e contains a call.
func hasCall(e syntax.Expr) bool {
	found := false
	syntax.Walk(e, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.CallExpr); ok {
			found = true
		}
		return !found
	})
	return found
}

// cloneExpr copies an assignment target (names, indexes, attributes,
// literals) for a second, read-only evaluation. Targets holding anything
// else are refused by the resolver or by hasCall before this matters.
func cloneExpr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}
	case *syntax.Literal:
		c := *e
		return &c
	case *syntax.IndexExpr:
		return &syntax.IndexExpr{X: cloneExpr(e.X), Lbrack: e.Lbrack, Y: cloneExpr(e.Y), Rbrack: e.Rbrack}
	case *syntax.DotExpr:
		return &syntax.DotExpr{X: cloneExpr(e.X), Dot: e.Dot, NamePos: e.NamePos, Name: &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}}
	case *syntax.ParenExpr:
		return &syntax.ParenExpr{Lparen: e.Lparen, X: cloneExpr(e.X), Rparen: e.Rparen}
	case *syntax.SliceExpr:
		return &syntax.SliceExpr{X: cloneExpr(e.X), Lbrack: e.Lbrack, Lo: cloneExpr(e.Lo), Hi: cloneExpr(e.Hi), Step: cloneExpr(e.Step), Rbrack: e.Rbrack}
	case *syntax.UnaryExpr:
		return &syntax.UnaryExpr{OpPos: e.OpPos, Op: e.Op, X: cloneExpr(e.X)}
	case *syntax.BinaryExpr:
		return &syntax.BinaryExpr{OpPos: e.OpPos, Op: e.Op, X: cloneExpr(e.X), Y: cloneExpr(e.Y)}
	case *syntax.TupleExpr:
		c := &syntax.TupleExpr{Lparen: e.Lparen, Rparen: e.Rparen}
		for _, x := range e.List {
			c.List = append(c.List, cloneExpr(x))
		}
		return c
	case nil:
		return nil
	}
	return e
}

// call builds name(args...) at pos, where errors of the call are reported.
func call(name string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: name}, Lparen: pos, Args: args, Rparen: pos}
}

func opLiteral(op syntax.Token, pos syntax.Position) *syntax.Literal {
	return &syntax.Literal{Token: syntax.INT, TokenPos: pos, Raw: fmt.Sprint(int(op)), Value: int64(op)}
}

func (rw *rewriter) fail(pos syntax.Position, format string, args ...any) {
	if rw.err == nil {
		rw.err = syntax.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
}
