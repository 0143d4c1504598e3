// Command contextlite is ContextLite Cloud: Caddy with its standard modules,
// caddy-ratelimit and the ContextLite modules, in one binary.
//
//	go run ./cmd/contextlite run --config Caddyfile
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/mholt/caddy-ratelimit"

	_ "github.com/contextlite/cloud/caddymodule"
)

func main() {
	caddycmd.Main()
}
