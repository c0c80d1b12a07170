//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pebble

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// The helper pushes holderItems items to holderKey before it reports ready.
const holderItems = 20

var holderKey = storage.Key{Kind: "offline", User: "juliet@example.com"}

// holderArchive gets holderItems archive appends, which return before
// their fsync (see archiveSyncer): once their window's sync is done, a
// crash must not lose them.
var holderArchive = storage.Key{Kind: "mam", User: "juliet@example.com"}

// holderEnv names the directory a helper process opens and holds.
const holderEnv = "XMPPD_PEBBLE_LOCK_HOLDER"

// TestMain turns the test binary into the lock-holding helper process of
// TestLockAcrossProcesses when holderEnv is set, and runs the tests
// otherwise, so the helper is not a test that skips in every normal run.
func TestMain(m *testing.M) {
	if dir := os.Getenv(holderEnv); dir != "" {
		holdLock(dir)
	}
	os.Exit(m.Run())
}

// holdLock opens the store in dir, acknowledges the writes the parent
// expects to survive, says "ready" and waits to be killed.
func holdLock(dir string) {
	d, err := Open(dir, Options{ArchiveSync: 10 * time.Millisecond})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	// Acknowledged writes that the parent expects to survive the kill.
	for i := range holderItems {
		if _, err := d.Queues().Push(context.Background(), holderKey, fmt.Append(nil, i), 0); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	for i := range holderItems {
		e := storage.ArchiveEntry{Time: time.Now(), With: "romeo@example.net", Data: fmt.Append(nil, i)}
		if _, err := d.Archives().Append(context.Background(), holderArchive, e); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	// The window's sync, then the parent may kill.
	for d.sync.syncs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // killed by the parent long before
	os.Exit(1)
}

// TestLockAcrossProcesses checks what the CLI sees while a server has the
// store open, and that a killed holder leaves no stale lock and loses none
// of the writes it acknowledged.
func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holderEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	defer kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	start := time.Now()
	_, err = Open(dir, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the store = %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Open took %v to report the lock", took)
	}
	if pid := strconv.Itoa(cmd.Process.Pid); !strings.Contains(err.Error(), "pid "+pid) {
		t.Errorf("error %q does not name the holder's pid %s", err, pid)
	}

	kill()
	d, err := Open(dir, Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	items, err := d.Queues().Peek(context.Background(), holderKey, 0)
	if err != nil || len(items) != holderItems {
		t.Errorf("after the kill the queue holds %d items, %v; want %d", len(items), err, holderItems)
	}
	for i, it := range items {
		if string(it.Data) != fmt.Sprint(i) {
			t.Errorf("item %d = %q, want %q", i, it.Data, fmt.Sprint(i))
		}
	}
	res, err := d.Archives().Query(context.Background(), holderArchive, storage.ArchiveQuery{})
	if err != nil || len(res.Entries) != holderItems {
		t.Errorf("after the kill the archive holds %d entries, %v; want %d", len(res.Entries), err, holderItems)
	}
	for i, e := range res.Entries {
		if string(e.Data) != fmt.Sprint(i) {
			t.Errorf("archive entry %d = %q, want %q", i, e.Data, fmt.Sprint(i))
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
