package parley

import "context"

// Roles of a user. RoleAPI is the seed's "role with API access rights".
const (
	RoleAdmin    = "admin"
	RoleAPI      = "api"
	RoleOperator = "operator"
)

// RoleEndUser is the caller of the widget API and of an end-user stream
// token: a visitor of a company's site, never a user's role (ValidRole
// refuses it), and entitled to one chat only.
const RoleEndUser = "end_user"

// ValidRole reports whether r names a role.
func ValidRole(r string) bool {
	return r == RoleAdmin || r == RoleAPI || r == RoleOperator
}

// Caller is the authenticated principal of a request. Its CompanyID is the
// tenant every query filters on.
type Caller struct {
	UserID      int64
	UserUUID    string
	CompanyID   int64
	CompanyUUID string
	Role        string
}

// HasAPIAccess reports whether the caller may use the External API.
func (c Caller) HasAPIAccess() bool { return c.Role == RoleAdmin || c.Role == RoleAPI }

type callerKey struct{}

// WithCaller returns a context that carries the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok && c.CompanyID != 0
}

// CompanyID returns the tenant of ctx. A context without one is a bug in the
// wiring, reported as an unauthorized error rather than as an unscoped query.
func CompanyID(ctx context.Context) (int64, error) {
	c, ok := CallerFrom(ctx)
	if !ok {
		return 0, Errorf(EUNAUTHORIZED, "No authenticated company.")
	}
	return c.CompanyID, nil
}
