// Package tenancy is the control plane: tenants and their tiers, API keys
// and how they are authenticated, and the signup and key management that
// the API calls.
//
// The records live in PostgreSQL, or in an embedded SQLite file for a
// single-node deployment; [Open] picks one and applies the schema of
// package migrations. API keys are stored only as hashes.
package tenancy
