//go:build unix

package datadir

import (
	"os"
	"syscall"
)

// errWouldBlock is flock's answer when another holds the lock.
var errWouldBlock = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock on f without waiting. A flock belongs
// to the open file, so a second open of the same file, in this process
// or another, cannot take it while the first holds it.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
