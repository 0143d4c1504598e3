package caddymodule

import (
	"errors"
	"fmt"
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/contextlite/cloud/migratelocal"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "migrate-local",
		Usage: "--db <contextlite.db> --url <tenant URL> --key <API key> [--workspace default] [--batch 200] [--insecure]",
		Short: "Uploads a local ContextLite database into a tenant, resumably",
		Long: `Reads the documents of a local ContextLite SQLite database and uploads
them into a tenant through the bulk API, in batches, with a progress bar
on stderr. Progress is kept in <db>.migrate-state.json after every batch,
so running the command again after an interruption carries on where it
stopped. Workspaces listed in the database's workspace_weights table are
created; documents go to --workspace. At the end every migrated path is
checked in the tenant against the SHA-256 of its content; the command
fails when a document is missing, differs or was refused.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("db", "", "local ContextLite database (required)")
			cmd.Flags().String("url", "", "tenant base URL, such as https://acme.example.com (required)")
			cmd.Flags().String("key", os.Getenv("CONTEXTLITE_API_KEY"), "API key with write scope (default $CONTEXTLITE_API_KEY)")
			cmd.Flags().String("workspace", "default", "workspace to put the documents in")
			cmd.Flags().Int("batch", 200, fmt.Sprintf("documents per request, at most %d", migratelocal.MaxBatchDocuments))
			cmd.Flags().Bool("insecure", false, "skip TLS certificate verification")
			cmd.MarkFlagRequired("db")
			cmd.MarkFlagRequired("url")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				var opts migratelocal.Options
				opts.DB, _ = cmd.Flags().GetString("db")
				opts.URL, _ = cmd.Flags().GetString("url")
				opts.Key, _ = cmd.Flags().GetString("key")
				opts.Workspace, _ = cmd.Flags().GetString("workspace")
				opts.Batch, _ = cmd.Flags().GetInt("batch")
				opts.Insecure, _ = cmd.Flags().GetBool("insecure")
				opts.Progress = cmd.ErrOrStderr()
				opts.Log = cmd.ErrOrStderr()
				sum, err := migratelocal.Run(cmd.Context(), opts)
				printSummary(cmd, sum)
				if err != nil {
					return err
				}
				if sum.Failed > 0 {
					return errors.New("some documents were refused by the service")
				}
				return nil
			}
		},
	})
}

// printSummary writes the outcome of a migration to the command's output.
func printSummary(cmd *cobra.Command, sum migratelocal.Summary) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "documents: %d, migrated: %d, skipped (earlier runs): %d, failed: %d, verified: %d, missing: %d, mismatched: %d\n",
		sum.Total, sum.Migrated, sum.Skipped, sum.Failed, sum.Verified, len(sum.Missing), len(sum.Mismatched))
	for _, f := range sum.FailedDocs {
		fmt.Fprintf(out, "  failed %s: %s\n", f.Path, f.Error)
	}
	for _, p := range sum.Missing {
		fmt.Fprintf(out, "  missing %s\n", p)
	}
	for _, p := range sum.Mismatched {
		fmt.Fprintf(out, "  content hash differs %s\n", p)
	}
}
