package widget

import (
	"net/http"

	"github.com/parley-cc/parley/internal/api"
)

// The widget's API is Parley's own and its only client is the widget:
// its shapes are closed, and an unknown field is refused (400, naming it).
func decode(r *http.Request, dst any) error { return api.DecodeStrict(r, dst) }
