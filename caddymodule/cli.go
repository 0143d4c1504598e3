package caddymodule

import (
	"regexp"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"
)

// cliName is the binary's name in help texts.
const cliName = "contextlite"

// cliDescription is the long help of the root command.
const cliDescription = `ContextLite Cloud: a hosted context engine for AI tools, served by Caddy
with the ContextLite modules compiled in.

Run the service with the Caddyfile in the current directory, or name one:

	$ contextlite run
	$ contextlite run --config /etc/caddy/Caddyfile --adapter caddyfile

Its log line "contextlite ready" says where the local CA's root certificate
is and how to sign up. Operators manage tenants, keys and backups against
the same control plane and data directory (see 'contextlite help tenant'):

	$ contextlite tenant create --email ops@example.com --company Example --tier pro
	$ contextlite key create example --scopes read,write
	$ contextlite backup --dir /var/backups/contextlite

The other commands (adapt, reload, stop, validate, trust, ...) are Caddy's:
https://caddyserver.com/docs/command-line`

// cliExample is the root command's example section.
const cliExample = `  $ contextlite run
  $ contextlite run --config Caddyfile
  $ contextlite reload --config Caddyfile
  $ contextlite stop`

func init() {
	caddy.CustomBinaryName = cliName
	caddy.CustomLongDescription = cliDescription
}

// replacesBinary lists Caddy's commands that swap this binary for a build
// from Caddy's download server, which cannot include these modules.
var replacesBinary = map[string]bool{"upgrade": true, "add-package": true, "remove-package": true}

// caddyInvocation matches a caddy command line in a help text.
var caddyInvocation = regexp.MustCompile(`\bcaddy `)

// rebrand names this binary where s shows a caddy command line.
func rebrand(s string) string {
	return caddyInvocation.ReplaceAllString(s, cliName+" ")
}

// rebrandRoot gives root this binary's examples, names this binary in the
// help of the commands added so far, and drops the commands that would
// replace it.
func rebrandRoot(root *cobra.Command) {
	root.Example = cliExample
	for _, c := range root.Commands() {
		if replacesBinary[c.Name()] {
			root.RemoveCommand(c)
			continue
		}
		c.Short, c.Long = rebrand(c.Short), rebrand(c.Long)
	}
}
