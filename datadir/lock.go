// Package datadir guards a data directory against a second process: the
// server and restore hold an exclusive lock on it while they use it.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile names the lock file in a data directory. It holds the pid of
// the process that holds the lock.
const LockFile = "contextlite.lock"

// ErrLocked is returned when another process holds a data directory's
// lock; the error is a *LockedError.
var ErrLocked = errors.New("data directory in use")

// LockedError names the directory and the process holding its lock.
type LockedError struct {
	Dir string
	PID int // 0: not known
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s (lock %s): stop it first",
		e.Dir, holder, filepath.Join(e.Dir, LockFile))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held lock on a data directory.
type Lock struct {
	f *os.File
}

// Acquire creates dir if needed and takes its exclusive lock without
// waiting, writing this process's pid into the lock file. A lock held by
// another process, or by another Lock of this process, is a *LockedError.
// The operating system releases the lock when the process exits.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		defer f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Dir: dir, PID: readPID(f)}
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	if err := writePID(f); err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return &Lock{f: f}, nil
}

// Release empties the lock file and releases the lock.
func (l *Lock) Release() error {
	err := l.f.Truncate(0)
	return errors.Join(err, unlockFile(l.f), l.f.Close())
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readPID reads the holder's pid from the lock file; 0 if there is none.
func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
