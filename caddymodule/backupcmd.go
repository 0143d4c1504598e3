package caddymodule

import (
	"fmt"
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/contextlite/cloud/admin"
	"github.com/contextlite/cloud/backup"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "backup",
		Usage: "--to <dir> [--data-dir <dir>]",
		Short: "Copies every tenant database and the embedded control plane, online",
		Long: `Writes a consistent copy of every tenant database and of the embedded
SQLite control plane into a new directory, with a manifest of sizes and
SHA-256 sums, while the server keeps serving. A PostgreSQL control plane
is not copied: back it up with pg_dump. --data-dir defaults to
CONTEXTLITE_DATA (./data).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("data-dir", envOr("CONTEXTLITE_DATA", "./data"), "data directory")
			cmd.Flags().String("to", "", "new directory for the backup, its parents created if missing (required)")
			cmd.MarkFlagRequired("to")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				dataDir, _ := cmd.Flags().GetString("data-dir")
				to, _ := cmd.Flags().GetString("to")
				m, err := backup.Take(cmd.Context(), dataDir, to)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "backed up %d tenants (control plane included: %t) to %s\n", len(m.Tenants), m.ControlPlane != nil, to)
				return nil
			}
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "restore",
		Usage: "--from <dir> [--tenant <id or slug>] [--data-dir <dir>] [--dsn <url>]",
		Short: "Restores a backup into the data directory; stop the server first",
		Long: `Checks every file of the backup against its manifest, then copies the
tenant databases and the control plane (or only --tenant's database) into
the data directory, replacing what is there. Stop the server first: restore
takes the data directory's lock and refuses to run while a server holds it.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("data-dir", envOr("CONTEXTLITE_DATA", "./data"), "data directory")
			cmd.Flags().String("from", "", "backup directory (required)")
			cmd.Flags().String("tenant", "", "restore only this tenant's database (id, or slug found in the control plane)")
			cmd.Flags().String("dsn", os.Getenv("CONTEXTLITE_DATABASE_URL"), "PostgreSQL DSN of the control plane, to find --tenant's slug (empty: embedded SQLite)")
			cmd.MarkFlagRequired("from")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				dataDir, _ := cmd.Flags().GetString("data-dir")
				from, _ := cmd.Flags().GetString("from")
				tenant, err := restoreTenant(cmd, dataDir)
				if err != nil {
					return err
				}
				if err := backup.Restore(from, dataDir, tenant); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s\n", from, dataDir)
				return nil
			}
		},
	})
}

// restoreTenant returns the id of the tenant restore's --tenant names by
// id or slug; "" for all.
func restoreTenant(cmd *cobra.Command, dataDir string) (string, error) {
	ref, _ := cmd.Flags().GetString("tenant")
	if ref == "" {
		return "", nil
	}
	dsn, _ := cmd.Flags().GetString("dsn")
	return admin.TenantID(cmd.Context(), admin.Config{DataDir: dataDir, DSN: dsn}, ref)
}
