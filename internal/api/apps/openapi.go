package apps

import _ "embed"

// OpenAPI is the hand-written OpenAPI document of this family, served at
// /openapi/apps.json. Tests check it against the route table and validate
// real responses against it.
//
//go:embed openapi.json
var OpenAPI []byte
