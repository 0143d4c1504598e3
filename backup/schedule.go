package backup

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// snapshotPrefix starts the name of every scheduled backup directory.
const snapshotPrefix = "contextlite-"

// Schedule takes a backup of DataDir into a new directory under Dir every
// Every, and keeps the newest Keep of them. Set its fields before Run.
type Schedule struct {
	DataDir string
	Dir     string
	Every   time.Duration
	Keep    int          // 0: keep all
	Logger  *slog.Logger // nil: discard
}

// Run takes a backup every Every until ctx is done; the first one after
// Every, not at start.
func (s *Schedule) Run(ctx context.Context) {
	tick := time.NewTicker(s.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.take(ctx, now)
		}
	}
}

// take takes one backup and prunes old ones, logging the outcome.
func (s *Schedule) take(ctx context.Context, now time.Time) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(s.Dir, snapshotPrefix+now.UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		log.Error("scheduled backup failed", "dir", dir, "error", err)
		return
	}
	m, err := Take(ctx, s.DataDir, dir)
	if err != nil {
		log.Error("scheduled backup failed", "dir", dir, "error", err)
		return
	}
	log.Info("scheduled backup taken", "dir", dir, "tenants", len(m.Tenants))
	if err := s.prune(); err != nil {
		log.Warn("old backups not pruned", "error", err)
	}
}

// prune removes all but the newest Keep backups under Dir.
func (s *Schedule) prune() error {
	if s.Keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), snapshotPrefix) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // timestamps sort by time
	for _, name := range names[:max(len(names)-s.Keep, 0)] {
		if err := os.RemoveAll(filepath.Join(s.Dir, name)); err != nil {
			return err
		}
	}
	return nil
}
