// Package migratelocal moves the documents of a local ContextLite SQLite
// database (the original single-binary ContextLite) into one tenant of
// ContextLite Cloud through its public HTTP API.
//
// The source database's documents table has the columns id, content,
// content_hash, path, lang, mtime, token_count, model_id, quantum_score,
// entanglement_map, coherence_history, created_at and updated_at. Only id,
// content, path, lang, mtime, created_at and updated_at are migrated; the
// rest are scores of the local engine that the service recomputes.
//
// Assumptions, since the local format does not document them:
//
//   - Rows are unique by id, which is a content hash, so files with the
//     same content share a row. The path column holds the known paths of
//     that content: a single path, a JSON array of paths, or several paths
//     separated by newlines (a path can never hold a newline in the
//     service). Each path becomes its own document with the row's content.
//   - A row whose path is empty becomes the document "doc-<id>.txt".
//   - Any other table listing paths (document_paths and the like) is
//     ignored.
//   - Timestamps are Go time.Time.String() text, such as
//     "2026-11-28 14:50:33.79 +0000 UTC m=+7.21"; the monotonic clock
//     reading is dropped. Unparsable timestamps are left out of the
//     metadata. mtime is kept as stored (a number stays a number).
//   - If a workspace_weights table exists, its workspace names (column
//     name, workspace_name, workspace or workspace_path, in that order of
//     preference) are created in the tenant. A workspace path is reduced
//     to its last element and to the characters the service allows.
//     Documents all go to Options.Workspace ("default" unless set): the
//     local database does not say which workspace a document belongs to.
//
// Rows are read in rowid order and each row expands to documents in the
// order of its paths, so a (rowid, path index) position orders every
// document. After each batch the service accepted, the position of its
// last document is written atomically to <db>.migrate-state.json; a later
// run against the same URL and workspace starts after it. Uploading a
// document again is harmless anyway: the service answers "unchanged".
//
// At the end, Run lists the tenant's workspace and checks that every
// migrated path is there with the hex SHA-256 of its content, the hash the
// service computes.
package migratelocal
