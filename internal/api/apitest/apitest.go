// Package apitest holds the contract tests every API family runs against
// its hand-written OpenAPI document: the document lists exactly the
// family's routes (both ways), its response schemas are strict enough to
// catch drift, and every response a real server gives in the family's
// tests, on SQLite and PostgreSQL, validates against it, with every
// documented status produced at least once. Only tests import it.
package apitest

import (
	"fmt"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// Route is one route of a family's route table as the contract tests see
// it, whatever the family's own route type holds.
type Route struct {
	Method string
	Path   string // the full path pattern, "{name}" for a segment, as in the document
	Public bool   // takes no credentials: its operation overrides the document's security
}

// Key names the route, and its operation, in messages and coverage.
func (rt Route) Key() string { return rt.Method + " " + rt.Path }

// Family is what the contract tests know of one API family.
type Family struct {
	// Name is the document's name: it is served at /openapi/<Name>.json.
	Name string
	// Doc is the embedded OpenAPI document.
	Doc []byte
	// Routes is the family's route table.
	Routes []Route
	// Statuses every operation documents (e.g. "500"), those every
	// operation that takes credentials documents too (e.g. "401"), and
	// those every operation with a request body documents too (an
	// over-limit or malformed body).
	Always, Authenticated, WithBody []string
	// OptionalFields are the only response properties the server may
	// leave out (e.g. an error's "fields"); every other property of a
	// response object must be required.
	OptionalFields []string
}

// Load parses the document and checks it is a valid OpenAPI 3.1 one.
func (f *Family) Load(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (f *Family) load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(f.Doc)
	if err != nil {
		return nil, fmt.Errorf("parse the %s OpenAPI document: %w", f.Name, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the %s OpenAPI document is not valid: %w", f.Name, err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("the %s OpenAPI document is version %s, want 3.1", f.Name, doc.OpenAPI)
	}
	return doc, nil
}

// operation returns the documented operation of a route, or nil.
func operation(doc *openapi3.T, rt Route) *openapi3.Operation {
	item := doc.Paths.Value(rt.Path)
	if item == nil {
		return nil
	}
	return item.GetOperation(rt.Method)
}
