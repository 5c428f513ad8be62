package apitest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// CheckRoutes compares the document with the route table both ways: every
// route has an operation and every operation is a route. A public route's
// operation overrides the document's security and no other does; each
// operation documents the family's common statuses.
func (f *Family) CheckRoutes(t *testing.T) {
	t.Helper()
	doc := f.Load(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	if len(doc.Security) == 0 && slices.ContainsFunc(f.Routes, func(rt Route) bool { return !rt.Public }) {
		t.Errorf("%s: the document names no security, but some routes take credentials", f.Name)
	}
	ids := map[string]string{}
	for _, rt := range f.Routes {
		op := operation(doc, rt)
		if op == nil {
			t.Errorf("%s: route %s has no operation in the document", f.Name, rt.Key())
			continue
		}
		delete(documented, rt.Key())
		if op.OperationID == "" {
			t.Errorf("%s: %s has no operationId", f.Name, rt.Key())
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: %s and %s share the operationId %s", f.Name, rt.Key(), other, op.OperationID)
		}
		ids[op.OperationID] = rt.Key()
		if op.Summary == "" {
			t.Errorf("%s: %s has no summary", f.Name, rt.Key())
		}
		if overrides := op.Security != nil; overrides != rt.Public {
			t.Errorf("%s: %s: public=%v but the operation overrides security: %v", f.Name, rt.Key(), rt.Public, overrides)
		}
		want := slices.Clone(f.Always)
		if !rt.Public {
			want = append(want, f.Authenticated...)
		}
		if op.RequestBody != nil {
			want = append(want, f.WithBody...)
		}
		for _, status := range want {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s: %s: no %s response documented", f.Name, rt.Key(), status)
			}
		}
		for _, p := range pathParams(rt.Path) {
			if param := op.Parameters.GetByInAndName("path", p); param == nil {
				if item := doc.Paths.Value(rt.Path); item.Parameters.GetByInAndName("path", p) == nil {
					t.Errorf("%s: %s: path parameter %s is not documented", f.Name, rt.Key(), p)
				}
			}
		}
	}
	for key := range documented {
		t.Errorf("%s: the document has %s, which is not in the family's route table", f.Name, key)
	}
}

// pathParams returns the names of a pattern's {parameters}.
func pathParams(pattern string) []string {
	var out []string
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(pattern) && pattern[j] != '}' {
			j++
		}
		out = append(out, pattern[i+1:j])
		i = j
	}
	return out
}

// CheckStrictSchemas checks the rules that make response validation catch
// drift: response objects list every property as required (but the
// family's OptionalFields) and allow no others. When openRequests is set,
// request objects must not forbid other properties, because the family
// ignores unknown fields.
func (f *Family) CheckStrictSchemas(t *testing.T, openRequests bool) {
	t.Helper()
	doc := f.Load(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, rr := range op.Responses.Map() {
				if rr.Value == nil {
					continue
				}
				for _, mt := range rr.Value.Content {
					walk(mt.Schema, func(s *openapi3.Schema) {
						where := fmt.Sprintf("%s: %s %s response %s", f.Name, method, path, status)
						if !s.Type.Includes("object") || s.AdditionalProperties.Schema != nil {
							return // not an object, or a map
						}
						if has := s.AdditionalProperties.Has; has == nil || *has {
							t.Errorf("%s: object schema without additionalProperties: false", where)
						}
						for name := range s.Properties {
							if !slices.Contains(s.Required, name) && !slices.Contains(f.OptionalFields, name) {
								t.Errorf("%s: property %s is not required", where, name)
							}
						}
					})
				}
			}
			if op.RequestBody == nil || !openRequests {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema, func(s *openapi3.Schema) {
					if has := s.AdditionalProperties.Has; has != nil && !*has {
						t.Errorf("%s: %s %s request body: additionalProperties: false, but the server ignores unknown fields", f.Name, method, path)
					}
				})
			}
		}
	}
}

// CheckClosedRequests checks the request bodies of a family that refuses
// unknown fields: every object schema of a request (but those of the
// operations at openPaths) says additionalProperties: false, or gives a
// schema for them (a map), so that the document tells clients what the
// server refuses.
func (f *Family) CheckClosedRequests(t *testing.T, openPaths ...string) {
	t.Helper()
	doc := f.Load(t)
	for path, item := range doc.Paths.Map() {
		if slices.Contains(openPaths, path) {
			continue
		}
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema, func(s *openapi3.Schema) {
					if !s.Type.Includes("object") && len(s.Properties) == 0 {
						return
					}
					if has := s.AdditionalProperties.Has; s.AdditionalProperties.Schema == nil && (has == nil || *has) {
						t.Errorf("%s: %s %s request body: an object without additionalProperties: false, but the server refuses unknown fields", f.Name, method, path)
					}
				})
			}
		}
	}
}

// walk calls fn on s and every schema nested in it.
func walk(ref *openapi3.SchemaRef, fn func(*openapi3.Schema)) {
	if ref == nil || ref.Value == nil {
		return
	}
	s := ref.Value
	fn(s)
	for _, p := range s.Properties {
		walk(p, fn)
	}
	walk(s.Items, fn)
	walk(s.AdditionalProperties.Schema, fn)
	for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
		for _, sub := range list {
			walk(sub, fn)
		}
	}
}
