package migratelocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Position orders the documents of a source: the rowid of their row and
// the index of their path within it.
type Position struct {
	RowID int64 `json:"rowid"`
	Index int   `json:"index"`
}

// after reports whether p comes after q.
func (p Position) after(q Position) bool {
	return p.RowID > q.RowID || p.RowID == q.RowID && p.Index > q.Index
}

// FailedDocument is a document the service refused.
type FailedDocument struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// State is the progress of a migration, kept next to the source database.
type State struct {
	URL       string           `json:"url"`
	Workspace string           `json:"workspace"`
	Started   bool             `json:"started"`          // Last is meaningful
	Last      Position         `json:"last"`             // last document of the last accepted batch
	Uploaded  int              `json:"uploaded"`         // documents accepted so far, over all runs
	Failed    []FailedDocument `json:"failed,omitempty"` // documents refused so far, over all runs
}

// StatePath returns the state file of the source database db.
func StatePath(db string) string { return db + ".migrate-state.json" }

// done reports whether the document at p was already sent.
func (s *State) done(p Position) bool {
	return s.Started && !p.after(s.Last)
}

// LoadState reads the state at file for a migration to url and workspace.
// A missing file, or one for another target, gives a fresh state.
func LoadState(file, url, workspace string) (*State, error) {
	fresh := &State{URL: url, Workspace: workspace}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read state %s: %w", file, err)
	}
	if s.URL != url || s.Workspace != workspace {
		return fresh, nil
	}
	return &s, nil
}

// Save writes the state to file atomically: to a temporary file in the
// same directory, synced, then renamed over file.
func (s *State) Save(file string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".tmp*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}
