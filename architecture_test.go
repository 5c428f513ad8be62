package parley_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The layout rules of docs/architecture.md, checked on the code itself:
// adapters hold no SQL, the domain never imports HTTP adapters, and every
// table is written by exactly one package.

const module = "github.com/parley-cc/parley"

// imports lists the imports of every package of the module (tests left
// out), by import path.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[f[0]] = f[1:]
	}
	return pkgs
}

// TestAdaptersHoldNoSQL: no package under internal/api imports
// database/sql or internal/store; they call domain services.
func TestAdaptersHoldNoSQL(t *testing.T) {
	for pkg, imps := range imports(t) {
		if !strings.HasPrefix(pkg, module+"/internal/api") {
			continue
		}
		for _, imp := range imps {
			if imp == "database/sql" || imp == module+"/internal/store" {
				t.Errorf("%s imports %s: adapters go through the domain services", pkg, imp)
			}
		}
	}
}

// TestReleaseBinaryHasNoProfiler: load generators and profiling live in
// cmd/parley-bench, never in the binary that serves production traffic.
func TestReleaseBinaryHasNoProfiler(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/parley").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "runtime/pprof" || dep == module+"/cmd/parley-bench" {
			t.Errorf("cmd/parley links %s: benchmarks and profiles belong to cmd/parley-bench", dep)
		}
	}
}

// TestDialectStaysInTheStore: the SQL dialect is a store matter. No
// package outside internal/store branches on the engine it runs on (no
// Dialect() call, no store.Postgres or store.SQLite); what differs (row
// locks, placeholders, errors) is behind the store's API. Naming the
// dialect in a log line is fine.
func TestDialectStaysInTheStore(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (path == "internal/store" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Dialect" {
					t.Errorf("%s: a Dialect() call: dialect differences stay in internal/store", fset.Position(n.Pos()))
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "store" && (n.Sel.Name == "Postgres" || n.Sel.Name == "SQLite") {
					t.Errorf("%s: store.%s: dialect differences stay in internal/store", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned only %d files: the walk is broken", files)
	}
}

// httpSide are the packages that may import internal/api: the adapters
// themselves, the stream, the assembly and the pages.
var httpSide = []string{"/internal/api", "/internal/realtime", "/internal/server", "/internal/web", "/internal/testenv", "/cmd/"}

// pendingAPIImports are domain packages that still import internal/api,
// each on its way out (remove the entry with the import).
var pendingAPIImports = map[string]string{}

// TestDomainImportsNoAdapter: nothing in the domain imports internal/api.
func TestDomainImportsNoAdapter(t *testing.T) {
	for pkg, imps := range imports(t) {
		rel := strings.TrimPrefix(pkg, module)
		if slices.ContainsFunc(httpSide, func(p string) bool { return strings.HasPrefix(rel, p) }) {
			continue
		}
		_, pending := pendingAPIImports[rel]
		importsAPI := slices.ContainsFunc(imps, func(imp string) bool { return strings.HasPrefix(imp, module+"/internal/api") })
		switch {
		case importsAPI && !pending:
			t.Errorf("%s imports internal/api: the domain never points up into HTTP", pkg)
		case !importsAPI && pending:
			t.Errorf("%s no longer imports internal/api: drop it from pendingAPIImports", pkg)
		}
	}
}

// writeSQL finds the table a statement writes: INSERT INTO t, UPDATE t,
// DELETE FROM t.
var writeSQL = regexp.MustCompile(`(?i)\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+([a-z_][a-z0-9_]*)`)

// pendingWriters are packages that still write a table another package
// owns, each on its way out (remove the entry when it stops).
var pendingWriters = map[string][]string{}

// TestEveryTableHasOneWriter scans the SQL in the string literals of every
// non-test Go file and checks that each table of the schema is written
// (inserted into, updated, deleted from) by one package only.
func TestEveryTableHasOneWriter(t *testing.T) {
	tables := schemaTables(t)
	writers := map[string]map[string]bool{} // table -> packages
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range writeSQL.FindAllStringSubmatch(s, -1) {
				table := strings.ToLower(m[1])
				if !tables[table] {
					continue // "DO UPDATE SET", "FOR UPDATE OF", prose
				}
				if writers[table] == nil {
					writers[table] = map[string]bool{}
				}
				writers[table][pkg] = true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for table, pkgs := range writers {
		var owners []string
		for p := range pkgs {
			if !slices.Contains(pendingWriters[table], p) {
				owners = append(owners, p)
			}
		}
		sort.Strings(owners)
		if len(owners) > 1 {
			t.Errorf("table %s is written by %s: one package owns it, the others call its API", table, strings.Join(owners, ", "))
		}
	}
	for table, pkgs := range pendingWriters {
		for _, p := range pkgs {
			if !writers[table][p] {
				t.Errorf("%s no longer writes %s: drop it from pendingWriters", p, table)
			}
		}
	}
}

// schemaTables reads the table names the migrations create.
func schemaTables(t *testing.T) map[string]bool {
	t.Helper()
	create := regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)`)
	files, err := filepath.Glob("internal/store/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found (%v)", err)
	}
	tables := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			tables[strings.ToLower(m[1])] = true
		}
	}
	return tables
}
