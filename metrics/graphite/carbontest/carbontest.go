// Package carbontest runs a real Carbon receiver for tests: Debian's
// carbon-cache (package graphite-carbon, which test.sh installs) in the
// foreground on loopback, with a configuration of its own in a temporary
// directory (plaintext line receiver on a free port, one-second
// retention), stopped when the test ends. Tests push to Addr and read
// back what carbon wrote with whisper's own reader (python3-whisper, a
// dependency of graphite-carbon).
//
// Only a machine without carbon-cache skips (outside CI, where the CI
// environment variable is unset); an installed carbon-cache that does
// not come up fails the test.
package carbontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A Carbon is one running carbon-cache.
type Carbon struct {
	// Addr is the plaintext line receiver, host:port.
	Addr string
	// Whisper is the directory carbon writes its whisper files to.
	Whisper string
	out     *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Output returns what carbon-cache printed so far.
func (c *Carbon) Output() string { return c.out.String() }

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs carbon-cache until the test ends and returns once it
// accepts connections on Addr. Its output is logged if the test failed.
func Start(t testing.TB) *Carbon {
	t.Helper()
	bin, err := exec.LookPath("carbon-cache")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("carbon-cache not installed: test.sh installs graphite-carbon, so CI must have it")
		}
		t.Skip("carbon-cache not installed (apt-get install graphite-carbon; test.sh does)")
	}
	dir := t.TempDir()
	line, pickle, query := freePort(t), freePort(t), freePort(t)
	c := &Carbon{Addr: fmt.Sprintf("127.0.0.1:%d", line), Whisper: filepath.Join(dir, "whisper"), out: &lockedBuffer{}}
	conf := fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/storage
LOCAL_DATA_DIR = %[2]s
WHITELISTS_DIR = %[1]s/lists
CONF_DIR = %[1]s
LOG_DIR = %[1]s/log
PID_DIR = %[1]s
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[3]d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[4]d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[5]d
LOG_UPDATES = True
LOG_CREATES = True
`, dir, c.Whisper, line, pickle, query)
	schemas := "[default]\npattern = .*\nretentions = 1s:10m\n"
	for name, text := range map[string]string{"carbon.conf": conf, "storage-schemas.conf": schemas} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--config="+filepath.Join(dir, "carbon.conf"), "--debug", "start")
	cmd.Stdout, cmd.Stderr = c.out, c.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("carbon-cache cannot be started: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("carbon-cache output:\n%s", c.out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("carbon-cache exited at start:\n%s", c.out.String())
		default:
		}
		if conn, err := net.DialTimeout("tcp", c.Addr, time.Second); err == nil {
			conn.Close()
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("carbon-cache did not listen on %s within 30s:\n%s", c.Addr, c.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// File returns the whisper file of a metric path: "a.b.c" is
// Whisper/a/b/c.wsp.
func (c *Carbon) File(path string) string {
	return filepath.Join(c.Whisper, filepath.FromSlash(strings.ReplaceAll(path, ".", "/"))+".wsp")
}

// whisperRead prints the non-empty values of a whisper file as JSON.
const whisperRead = `import json, sys, whisper
(_, _, _), vals = whisper.fetch(sys.argv[1], 0)
print(json.dumps([v for v in vals if v is not None]))`

// Values returns the values carbon stored for a metric path, oldest
// first. A path carbon has not written yet is an error wrapping
// os.ErrNotExist.
func (c *Carbon) Values(path string) ([]float64, error) {
	file := c.File(path)
	if _, err := os.Stat(file); err != nil {
		return nil, err
	}
	out, err := exec.Command("/usr/bin/python3", "-c", whisperRead, file).Output()
	if err != nil {
		return nil, fmt.Errorf("carbontest: reading %s: %w", file, err)
	}
	var vals []float64
	if err := json.Unmarshal(out, &vals); err != nil {
		return nil, fmt.Errorf("carbontest: reading %s: %q: %w", file, out, err)
	}
	return vals, nil
}

// Wait polls the values of path until ok accepts them and returns them;
// past timeout it fails the test with what was there.
func (c *Carbon) Wait(t testing.TB, path string, timeout time.Duration, ok func([]float64) bool) []float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		vals, err := c.Values(path)
		if err == nil && ok(vals) {
			return vals
		}
		if time.Now().After(deadline) {
			t.Fatalf("carbon: %s after %s: %v %v", path, timeout, vals, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
