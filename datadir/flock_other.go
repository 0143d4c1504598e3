//go:build !unix

package datadir

import (
	"errors"
	"os"
)

// errWouldBlock is never returned where there is no flock.
var errWouldBlock = errors.New("lock held")

// lockFile does nothing: without flock, a data directory is not guarded.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
