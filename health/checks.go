package health

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrDisabled is what a check of a feature that is switched off returns.
var ErrDisabled = errors.New("disabled")

// Storage returns a check that dir is writable and has at least minFree
// bytes free.
func Storage(dir string, minFree uint64) func(context.Context) error {
	return func(context.Context) error {
		f, err := os.CreateTemp(dir, ".health-*")
		if err != nil {
			return fmt.Errorf("data dir not writable: %w", err)
		}
		name := f.Name()
		_, werr := f.Write([]byte("ok"))
		cerr := f.Close()
		os.Remove(name)
		if err := errors.Join(werr, cerr); err != nil {
			return fmt.Errorf("data dir not writable: %w", err)
		}
		free, err := freeBytes(dir)
		if err != nil {
			return fmt.Errorf("data dir free space: %w", err)
		}
		if free < minFree {
			return fmt.Errorf("data dir has %d MiB free, below %d MiB", free>>20, minFree>>20)
		}
		return nil
	}
}
