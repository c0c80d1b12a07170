//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package pebble

import (
	"io"
	"time"
)

// lockDir relies on the engine's own LOCK file where flock is unavailable:
// a second Open fails at once with the engine's error instead of ErrLocked.
func lockDir(dir string, timeout time.Duration) (io.Closer, error) {
	return io.NopCloser(nil), nil
}
