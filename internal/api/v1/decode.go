package v1

import (
	"net/http"

	"github.com/parley-cc/parley/internal/api"
)

// Seed 000 lists every request parameter in a table: the shapes are
// closed, so an unknown field is refused (400, naming it) instead of
// being ignored.
func decode(r *http.Request, dst any) error { return api.DecodeStrict(r, dst) }
