// Package contextengine stores a tenant's documents in its own SQLite
// database, indexes them for code-aware full-text search and assembles the
// most useful parts of them into a context that fits a token budget.
//
// It has no HTTP or Caddy dependencies: the service's handlers, the
// evaluator and the migration tool all call it through [Manager].
package contextengine
