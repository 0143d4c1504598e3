// Package cloud is ContextLite Cloud as a Caddy plugin: importing it
// registers the contextlite modules, which is what xcaddy's --with does.
package cloud

import _ "github.com/contextlite/cloud/caddymodule" // registers the modules
