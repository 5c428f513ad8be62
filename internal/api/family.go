package api

import (
	"net/http"
)

// Family declares one API family: where it is mounted, how large its
// bodies may be, how its callers authenticate and how it writes errors.
// Every family package declares one next to its route table and registers
// through it, so that the families differ only in what they declare.
type Family[H any] struct {
	// Name is what 404 answers call the family ("operator API").
	Name string
	// Prefix starts every route's path; it may hold path parameters.
	Prefix string
	// Mount is the subtree whose unmatched requests the family answers
	// (404, 405) in its own format; default Prefix + "/".
	Mount string
	// BodyLimit caps request bodies; a route may set its own. Default
	// DefaultBodyLimit.
	BodyLimit int64
	// Auth authenticates the caller of every route that is not Public and
	// puts it in the request's context (Bearer, say), writing failures
	// with the family's error writer; nil leaves every route public.
	Auth func(h *H, next http.Handler) http.Handler
	// Fail writes an error in the family's format (an ErrorFormat's
	// Write, usually).
	Fail func(h *H, w http.ResponseWriter, r *http.Request, err error)
	// Wrap, when set, wraps each route outermost: headers every answer
	// carries, the family's own panic answer.
	Wrap func(h *H, next http.Handler) http.Handler
}

// RouteSpec is one method of a family, served by a handler of type H;
// each family names it Route (type Route = api.RouteSpec[Handler]). Tests
// iterate a family's route table, so a route added to it is at once in the
// tenant-isolation, bad-input and contract matrices.
type RouteSpec[H any] struct {
	Method string
	Path   string // below the family's Prefix
	// Public routes take no credentials (the family's Auth is skipped).
	Public bool
	// BodyLimit overrides the family's; 0 keeps it.
	BodyLimit int64
	// Handle serves the route; an error it returns is written by the
	// family's Fail.
	Handle func(h *H, w http.ResponseWriter, r *http.Request) error

	prefix string
}

// Pattern is the route's ServeMux pattern: "GET /v1/chats/{chatId}".
func (rt RouteSpec[H]) Pattern() string { return rt.Method + " " + rt.prefix + rt.Path }

// Routes binds a route table to the family, so that each route knows its
// full pattern: a family's Routes() returns family.Routes([]Route{...}).
func (f *Family[H]) Routes(rs []RouteSpec[H]) []RouteSpec[H] {
	for i := range rs {
		rs[i].prefix = f.Prefix
	}
	return rs
}

// Register mounts routes (the family's table) on mux, served by h, and the
// family's answer to requests below Mount that none of them takes.
func (f *Family[H]) Register(mux *http.ServeMux, h *H, routes []RouteSpec[H]) {
	fail := func(w http.ResponseWriter, r *http.Request, err error) { f.Fail(h, w, r, err) }
	endpoints := make([]Endpoint, 0, len(routes))
	for _, rt := range routes {
		next := WriteErrors(fail, func(w http.ResponseWriter, r *http.Request) error { return rt.Handle(h, w, r) })
		if !rt.Public && f.Auth != nil {
			next = f.Auth(h, next)
		}
		limit := rt.BodyLimit
		if limit == 0 {
			limit = f.BodyLimit
		}
		if limit == 0 {
			limit = DefaultBodyLimit
		}
		next = LimitBody(limit, next)
		if f.Wrap != nil {
			next = f.Wrap(h, next)
		}
		Route(mux, rt.Method+" "+f.Prefix+rt.Path, next)
		endpoints = append(endpoints, Endpoint{Method: rt.Method, Path: f.Prefix + rt.Path})
	}
	mount := f.Mount
	if mount == "" {
		mount = f.Prefix + "/"
	}
	Fallback(mux, mount, f.Name, endpoints, fail)
}
