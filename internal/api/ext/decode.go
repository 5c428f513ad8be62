package ext

import (
	"net/http"

	"github.com/parley-cc/parley/internal/api"
)

// The seed gives every request body of the family a closed shape, so
// unknown fields are refused (409, naming the field): a misspelt setting
// ("dealy") must not answer 200 having changed nothing. The dialog uploads
// decode into maps, whose keys are the agent's entities, checked one by one.
func decode(r *http.Request, dst any) error { return api.DecodeStrict(r, dst) }

func decodeOptional(r *http.Request, dst any) (bool, error) { return api.DecodeOptionalStrict(r, dst) }
