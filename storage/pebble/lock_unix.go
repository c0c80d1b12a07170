//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pebble

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lockFileName is the lock file inside the store directory. It holds the
// PID of the process that has the store open, for the error message.
const lockFileName = "xmppd.lock"

// lockDir takes an exclusive flock on dir's lock file, retrying until
// timeout. The lock dies with the process, so a crash never leaves a stale
// lock behind. flock locks belong to the open file, so a second Open in the
// same process is refused too.
func lockDir(dir string, timeout time.Duration) (io.Closer, error) {
	name := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pebble: open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("pebble: lock %s: %w", name, err)
		}
		if !time.Now().Before(deadline) {
			holder, _ := os.ReadFile(name)
			f.Close()
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				return nil, fmt.Errorf("%w (%s, held by pid %s)", ErrLocked, dir, pid)
			}
			return nil, fmt.Errorf("%w (%s)", ErrLocked, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
