// Package migrations holds the control plane's schema, one directory per
// SQL dialect. Files are named NNNN_name.sql and applied in name order;
// a released file never changes, a new one is added instead. The migrator
// (in package tenancy) records each applied file, without its .sql
// extension, in a schema_migrations table it creates itself.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migrations.
var Postgres = sub("postgres")

// SQLite holds the SQLite migrations.
var SQLite = sub("sqlite")

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // dir is a constant that the embed pattern includes
	}
	return f
}
