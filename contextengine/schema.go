package contextengine

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations upgrade a tenant database; migrations[i] moves it from
// user_version i to i+1. Append only: released entries never change.
var migrations = []string{
	`CREATE TABLE workspaces (
		id         INTEGER PRIMARY KEY,
		name       TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL
	);
	INSERT INTO workspaces (name, created_at) VALUES ('default', unixepoch());
	CREATE TABLE documents (
		seq          INTEGER PRIMARY KEY,
		id           TEXT NOT NULL UNIQUE,
		workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
		path         TEXT NOT NULL,
		language     TEXT NOT NULL DEFAULT '',
		metadata     TEXT NOT NULL DEFAULT '{}',
		content      TEXT NOT NULL,
		content_hash TEXT NOT NULL,
		size_bytes   INTEGER NOT NULL,
		tokens       INTEGER NOT NULL,
		chunks       INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL,
		UNIQUE (workspace_id, path)
	);
	CREATE TABLE chunks (
		id         INTEGER PRIMARY KEY,
		doc_seq    INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
		start_line INTEGER NOT NULL,
		end_line   INTEGER NOT NULL,
		tokens     INTEGER NOT NULL,
		simhash    INTEGER NOT NULL,
		content    TEXT NOT NULL
	);
	CREATE INDEX chunks_doc ON chunks (doc_seq, start_line);
	CREATE VIRTUAL TABLE chunks_fts USING fts5 (
		path, body, ws,
		content = '', contentless_delete = 1,
		tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
	);
	CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab (chunks_fts, 'row');
	CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
		DELETE FROM chunks_fts WHERE rowid = old.id;
	END;`,
	// The usage outbox: events written with the changes they meter, shipped
	// to the control plane in batches and kept a while after.
	`CREATE TABLE usage_outbox (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
		event_id    TEXT NOT NULL UNIQUE,
		meter       TEXT NOT NULL,
		quantity    INTEGER NOT NULL,
		occurred_at INTEGER NOT NULL,
		shipped_at  INTEGER
	);
	CREATE INDEX usage_outbox_unshipped ON usage_outbox (seq) WHERE shipped_at IS NULL;
	CREATE INDEX usage_outbox_time ON usage_outbox (occurred_at);`,
	// The engine's own inverted index replaces FTS5, and chunks point into
	// their document's content instead of holding a copy. Chunks are rebuilt
	// from the documents when the database is next opened (see reindex).
	`DROP TRIGGER chunks_fts_delete;
	DROP TABLE chunks_vocab;
	DROP TABLE chunks_fts;
	DROP TABLE chunks;
	CREATE TABLE documents_v3 (
		seq          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: path postings name documents
		id           TEXT NOT NULL UNIQUE,
		workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
		path         TEXT NOT NULL,
		language     TEXT NOT NULL DEFAULT '',
		metadata     TEXT NOT NULL DEFAULT '{}',
		content_hash TEXT NOT NULL,
		size_bytes   INTEGER NOT NULL,
		tokens       INTEGER NOT NULL,
		chunks       INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL,
		content      TEXT NOT NULL, -- last: reading other columns never walks its overflow pages
		UNIQUE (workspace_id, path)
	);
	INSERT INTO documents_v3 (seq, id, workspace_id, path, language, metadata, content_hash, size_bytes, tokens, chunks, created_at, updated_at, content)
		SELECT seq, id, workspace_id, path, language, metadata, content_hash, size_bytes, tokens, chunks, created_at, updated_at, content FROM documents;
	DROP TABLE documents;
	ALTER TABLE documents_v3 RENAME TO documents;
	CREATE TABLE chunks (
		id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: postings name chunks
		doc_seq    INTEGER NOT NULL REFERENCES documents (seq) ON DELETE CASCADE,
		start_line INTEGER NOT NULL,
		end_line   INTEGER NOT NULL,
		start_byte INTEGER NOT NULL,
		end_byte   INTEGER NOT NULL,
		decl_start INTEGER NOT NULL, -- the declaration or section the chunk is part of:
		decl_end   INTEGER NOT NULL, -- its lines, bytes and tokens (the sum of its chunks')
		decl_start_byte INTEGER NOT NULL,
		decl_end_byte   INTEGER NOT NULL,
		decl_tokens     INTEGER NOT NULL,
		length     INTEGER NOT NULL, -- indexed terms
		tokens     INTEGER NOT NULL
	);
	CREATE INDEX chunks_doc ON chunks (doc_seq, start_line);
	CREATE TABLE segments (
		seg   INTEGER PRIMARY KEY,
		level INTEGER NOT NULL
	);
	CREATE TABLE postings (
		level INTEGER NOT NULL,
		term  TEXT NOT NULL,
		seg   INTEGER NOT NULL,
		n     INTEGER NOT NULL,
		data  BLOB NOT NULL,
		PRIMARY KEY (level, term, seg)
	) WITHOUT ROWID;`,
	// Answers stored under clients' idempotency keys, kept IdempotencyTTL.
	`CREATE TABLE idempotency (
		key         TEXT PRIMARY KEY,
		fingerprint TEXT NOT NULL,
		answer      BLOB NOT NULL,
		created_at  INTEGER NOT NULL -- unix nanoseconds
	);
	CREATE INDEX idempotency_created ON idempotency (created_at);`,
}

// migrationSteps run in Go after the SQL of the migration to their
// version, in the same transaction.
var migrationSteps = map[int]func(ctx context.Context, tx *sql.Tx, eng *engineConfig) error{
	3: reindex,
}

// migrate brings a tenant database to the latest schema version.
func migrate(ctx context.Context, db *sql.DB, eng *engineConfig) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("tenant schema version %d is newer than this release (%d)", version, len(migrations))
	}
	for ; version < len(migrations); version++ {
		if err := applyMigration(ctx, db, eng, version); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, eng *engineConfig, version int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d: %w", version+1, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return fmt.Errorf("migration %d: %w", version+1, err)
	}
	if step := migrationSteps[version+1]; step != nil {
		if err := step(ctx, tx, eng); err != nil {
			return fmt.Errorf("migration %d: %w", version+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return fmt.Errorf("migration %d: set version: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %d: commit: %w", version+1, err)
	}
	return nil
}
