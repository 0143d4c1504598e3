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

// Names of scheduled backup directories: the prefix and the UTC time.
const (
	snapshotPrefix = "contextlite-"
	snapshotTime   = "20060102T150405Z"
)

// Schedule takes a backup of DataDir into a new directory under Dir every
// Every, and keeps the newest Keep of them. Set its fields before Run.
type Schedule struct {
	DataDir string
	Dir     string
	Every   time.Duration
	Keep    int          // 0: keep all
	Logger  *slog.Logger // nil: discard
}

// Run takes a backup every Every until ctx is done. The first is due
// Every after the newest complete backup under Dir, at once when there is
// none, so restarts and reloads neither postpone nor repeat backups.
func (s *Schedule) Run(ctx context.Context) {
	timer := time.NewTimer(time.Until(s.next(time.Now())))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-timer.C:
			s.take(ctx, now)
			timer.Reset(time.Until(s.next(time.Now())))
		}
	}
}

// next returns when the next backup is due after now: Every after the
// newest complete backup under Dir, or now.
func (s *Schedule) next(now time.Time) time.Time {
	names, err := s.snapshots()
	if err != nil {
		return now
	}
	for _, name := range slices.Backward(names) {
		taken, err := time.Parse(snapshotTime, strings.TrimPrefix(name, snapshotPrefix))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Dir, name, ManifestFile)); err != nil {
			continue // incomplete
		}
		if due := taken.Add(s.Every); due.After(now) {
			return due
		}
		return now
	}
	return now
}

// take takes one backup and prunes old ones, logging the outcome.
func (s *Schedule) take(ctx context.Context, now time.Time) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(s.Dir, snapshotPrefix+now.UTC().Format(snapshotTime))
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		log.Error("scheduled backup failed", "dir", dir, "error", err)
		return
	}
	if _, err := os.Stat(dir); err == nil {
		log.Warn("scheduled backup skipped: its directory exists", "dir", dir)
		return
	}
	m, err := Take(ctx, s.DataDir, dir)
	if err != nil {
		log.Error("scheduled backup failed", "dir", dir, "error", err)
		os.RemoveAll(dir) // an incomplete copy is no backup
		return
	}
	log.Info("scheduled backup taken", "dir", dir, "tenants", len(m.Tenants))
	if err := s.prune(); err != nil {
		log.Warn("old backups not pruned", "error", err)
	}
}

// snapshots returns the names of the backup directories under Dir, oldest
// first.
func (s *Schedule) snapshots() ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), snapshotPrefix) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // timestamps sort by time
	return names, nil
}

// prune removes all but the newest Keep backups under Dir.
func (s *Schedule) prune() error {
	if s.Keep <= 0 {
		return nil
	}
	names, err := s.snapshots()
	if err != nil {
		return err
	}
	for _, name := range names[:max(len(names)-s.Keep, 0)] {
		if err := os.RemoveAll(filepath.Join(s.Dir, name)); err != nil {
			return err
		}
	}
	return nil
}
