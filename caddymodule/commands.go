package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/contextlite/cloud/admin"
	"github.com/contextlite/cloud/tenancy"
)

func init() {
	// Caddy builds the root command by running each registration in turn,
	// so tenant is on the root when key's CobraFunc runs.
	var tenant *cobra.Command
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "tenant",
		Usage: "create|list|show|set-tier|suspend|activate|delete|move ...",
		Short: "Manages ContextLite tenants in the control plane",
		Long: `Manages tenants directly in the control plane the server uses. The flags
--data-dir, --dsn, --key-pepper and --admin default to CONTEXTLITE_DATA
(./data), CONTEXTLITE_DATABASE_URL, CONTEXTLITE_KEY_PEPPER and
CONTEXTLITE_ADMIN (localhost:2019), as in the Caddyfile. After a change the
server on the admin endpoint drops its cached keys and tenants, so the
change applies to its next request; other servers apply it within 30s.`,
		CobraFunc: func(cmd *cobra.Command) {
			tenant = cmd
			tenantCommands(cmd)
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "node",
		Usage: "drain <node>",
		Short: "Manages the nodes of a ContextLite cluster",
		Long: `Asks the server on the admin endpoint (--admin, default CONTEXTLITE_ADMIN or
localhost:2019), a node of the cluster, to act on a node.`,
		CobraFunc: nodeCommands,
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "key",
		Usage: "create|list|revoke <tenant> ...",
		Short: "Manages the API keys of a ContextLite tenant",
		Long:  `Creates, lists and revokes API keys; <tenant> is an id or a slug.`,
		CobraFunc: func(cmd *cobra.Command) {
			keyCommands(cmd)
			rebrandRoot(tenant.Root())
		},
	})
}

// consoleFlags adds the control-plane flags to cmd.
func consoleFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().String("data-dir", envOr("CONTEXTLITE_DATA", "./data"), "data directory")
	cmd.PersistentFlags().String("dsn", os.Getenv("CONTEXTLITE_DATABASE_URL"), "PostgreSQL DSN of the control plane (empty: embedded SQLite)")
	cmd.PersistentFlags().String("key-pepper", os.Getenv("CONTEXTLITE_KEY_PEPPER"), "API key pepper; must equal the server's")
	cmd.PersistentFlags().String("admin", envOr("CONTEXTLITE_ADMIN", "localhost:2019"), "admin endpoint of the running server, told to drop its caches after a change")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run opens the console for cmd and runs fn on it.
func run(fn func(ctx context.Context, c *admin.Console, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		flags := cmd.Flags()
		dataDir, _ := flags.GetString("data-dir")
		dsn, _ := flags.GetString("dsn")
		pepper, _ := flags.GetString("key-pepper")
		ctx := cmd.Context()
		c, err := admin.Open(ctx, admin.Config{DataDir: dataDir, DSN: dsn, KeyPepper: pepper}, cmd.OutOrStdout())
		if err != nil {
			return err
		}
		defer c.Close()
		return fn(ctx, c, args)
	}
}

// change is run for commands that change the control plane: afterwards
// the running server on the admin endpoint drops its cached keys and
// tenants, so the change applies to its next request.
func change(fn func(ctx context.Context, c *admin.Console, args []string) error) func(*cobra.Command, []string) error {
	inner := run(fn)
	return func(cmd *cobra.Command, args []string) error {
		if err := inner(cmd, args); err != nil {
			return err
		}
		addr, _ := cmd.Flags().GetString("admin")
		if err := notifyServer(addr); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: the server on the admin endpoint %s was not told (%v); a running server applies the change within %s\n", addr, err, tenantCacheTTL)
		}
		return nil
	}
}

// notifyServer asks the server on the admin endpoint addr to drop its
// cached keys and tenants.
func notifyServer(addr string) error {
	resp, err := caddycmd.AdminAPIRequest(addr, http.MethodPost, forgetPath, nil, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func tenantCommands(cmd *cobra.Command) {
	consoleFlags(cmd)
	create := &cobra.Command{Use: "create --email <email> --company <name> [--tier free] [--force]", Short: "Creates a tenant and its first admin key", Args: cobra.NoArgs}
	create.Flags().String("email", "", "contact email (required)")
	create.Flags().String("company", "", "company name; the subdomain is made from it (required)")
	create.Flags().String("tier", "free", "tier")
	create.Flags().Bool("force", false, "create the tenant even if another one has this email")
	create.RunE = change(func(ctx context.Context, c *admin.Console, _ []string) error {
		email, _ := create.Flags().GetString("email")
		company, _ := create.Flags().GetString("company")
		tier, _ := create.Flags().GetString("tier")
		force, _ := create.Flags().GetBool("force")
		return c.CreateTenant(ctx, email, company, tier, force)
	})
	cmd.AddCommand(create,
		&cobra.Command{Use: "list", Short: "Lists tenants", Args: cobra.NoArgs,
			RunE: run(func(ctx context.Context, c *admin.Console, _ []string) error { return c.ListTenants(ctx) })},
		&cobra.Command{Use: "show <tenant>", Short: "Shows a tenant", Args: cobra.ExactArgs(1),
			RunE: run(func(ctx context.Context, c *admin.Console, a []string) error { return c.ShowTenant(ctx, a[0]) })},
		&cobra.Command{Use: "set-tier <tenant> <tier>", Short: "Changes a tenant's tier", Args: cobra.ExactArgs(2),
			RunE: change(func(ctx context.Context, c *admin.Console, a []string) error { return c.SetTier(ctx, a[0], a[1]) })},
		statusCommand("suspend", "Suspends a tenant (its requests get 403 tenant_suspended)", tenancy.StatusSuspended),
		statusCommand("activate", "Reactivates a suspended tenant", tenancy.StatusActive),
		statusCommand("delete", "Marks a tenant deleted and revokes its keys", tenancy.StatusDeleted),
		&cobra.Command{Use: "move <tenant> <node>", Short: "Moves a tenant's data to another cluster node, its new home", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, a []string) error {
				return askServer(cmd, movePath, moveRequest{Tenant: a[0], Node: a[1]})
			}},
	)
}

func nodeCommands(cmd *cobra.Command) {
	cmd.PersistentFlags().String("admin", envOr("CONTEXTLITE_ADMIN", "localhost:2019"), "admin endpoint of a running node of the cluster")
	cmd.AddCommand(&cobra.Command{Use: "drain <node>", Short: "Moves every tenant of a node to the other nodes; the node takes no new tenant",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error { return askServer(cmd, drainPath, moveRequest{Node: a[0]}) }})
}

// askServer posts req to path on the running server's admin endpoint and
// prints its answer; a move runs on the server, which is a cluster node.
func askServer(cmd *cobra.Command, path string, req moveRequest) error {
	addr, _ := cmd.Flags().GetString("admin")
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := caddycmd.AdminAPIRequest(addr, http.MethodPost, path, http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the server on the admin endpoint %s: %w", addr, err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
	return err
}

func statusCommand(name, short string, s tenancy.Status) *cobra.Command {
	return &cobra.Command{Use: name + " <tenant>", Short: short, Args: cobra.ExactArgs(1),
		RunE: change(func(ctx context.Context, c *admin.Console, a []string) error { return c.SetStatus(ctx, a[0], s) })}
}

func keyCommands(cmd *cobra.Command) {
	consoleFlags(cmd)
	create := &cobra.Command{Use: "create <tenant> [--name n] [--scopes read,write]", Short: "Creates an API key and prints it once", Args: cobra.ExactArgs(1)}
	create.Flags().String("name", "cli", "key name")
	create.Flags().String("scopes", "read,write", "comma-separated scopes: read, write, admin")
	create.RunE = change(func(ctx context.Context, c *admin.Console, a []string) error {
		name, _ := create.Flags().GetString("name")
		scopes, _ := create.Flags().GetString("scopes")
		return c.CreateKey(ctx, a[0], name, strings.Split(scopes, ","))
	})
	cmd.AddCommand(create,
		&cobra.Command{Use: "list <tenant>", Short: "Lists a tenant's keys", Args: cobra.ExactArgs(1),
			RunE: run(func(ctx context.Context, c *admin.Console, a []string) error { return c.ListKeys(ctx, a[0]) })},
		&cobra.Command{Use: "revoke <tenant> <key-id>", Short: "Revokes a key", Args: cobra.ExactArgs(2),
			RunE: change(func(ctx context.Context, c *admin.Console, a []string) error { return c.RevokeKey(ctx, a[0], a[1]) })},
	)
}
