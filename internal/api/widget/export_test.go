package widget

// NeedsToken tells the tests outside the package whether a route takes the
// chat's widget token (the contract tests compare it with the document).
func (rt Route) NeedsToken() bool { return rt.token }
