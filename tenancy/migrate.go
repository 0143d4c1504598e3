package tenancy

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// migrationSet is the schema of one dialect and how to version it.
type migrationSet struct {
	files        fs.FS  // NNNN_name.sql files, applied in name order
	lock         string // run first to keep migrations from racing; "" for none
	versionTable string // creates schema_migrations if it does not exist
}

// migrate applies, in one transaction, the files of m that the
// schema_migrations table does not list, recording each by its name
// without ".sql". Versions it does not know (from a newer release) are
// left alone.
func migrate(ctx context.Context, db database, m migrationSet) error {
	names, err := fs.Glob(m.files, "*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = db.tx(ctx, func(q querier) error {
		for _, stmt := range []string{m.lock, m.versionTable} {
			if stmt == "" {
				continue
			}
			if _, err := q.exec(ctx, stmt); err != nil {
				return err
			}
		}
		applied, err := appliedVersions(ctx, q)
		if err != nil {
			return err
		}
		for _, name := range names {
			if version := strings.TrimSuffix(name, ".sql"); !applied[version] {
				if err := applyFile(ctx, q, m.files, name, version); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func appliedVersions(ctx context.Context, q querier) (map[string]bool, error) {
	applied := make(map[string]bool)
	err := q.query(ctx, func(row scanner) error {
		var v string
		err := row.Scan(&v)
		applied[v] = true
		return err
	}, "SELECT version FROM schema_migrations")
	return applied, err
}

func applyFile(ctx context.Context, q querier, files fs.FS, name, version string) error {
	body, err := fs.ReadFile(files, name)
	if err != nil {
		return err
	}
	if _, err := q.exec(ctx, string(body)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = q.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", version, time.Now())
	return err
}
