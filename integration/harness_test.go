// Package integration starts the real xmppd binary on loopback and drives
// it the way users' clients do: with slixmpp (Debian's python3-slixmpp, an
// independent implementation) and with raw XML over TCP/TLS for the bad
// inputs no well-behaved client library would send.
//
// The binary is built once per test run. Each test gets its own server:
// a fresh data directory and ports chosen by the kernel.
package integration

import (
	"bufio"
	"bytes"
	"context"
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

var binary string // path of the xmppd binary built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xmppd-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "xmppd")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/xmppd/xmppd/cmd/xmppd")
	if os.Getenv("XMPPD_NO_RACE") != "" {
		build = exec.Command("go", "build", "-o", binary, "github.com/xmppd/xmppd/cmd/xmppd")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building xmppd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A server is one running xmppd.
type server struct {
	t        testing.TB
	dataDir  string
	c2sAddr  string // STARTTLS
	tlsAddr  string // direct TLS
	httpAddr string // admin API
	domain   string
	cmd      *exec.Cmd
	log      *syncBuffer
	exited   chan error
}

// serverOptions tune startServer.
type serverOptions struct {
	config string            // extra TOML appended to the generated config
	users  map[string]string // localpart → password, created before start
}

// startServer starts xmppd with its own data directory and the given
// users, and stops it (SIGTERM, clean exit required) when the test ends.
func startServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), domain: "localhost", log: &syncBuffer{}, exited: make(chan error, 1)}
	s.c2sAddr, s.tlsAddr, s.httpAddr = freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf("domain = %q\ndata_dir = %q\n\n[listen]\nc2s = %q\ntls = %q\nhttp = %q\n\n[log]\nlevel = \"debug\"\n\n%s\n",
		s.domain, s.dataDir, s.c2sAddr, s.tlsAddr, s.httpAddr, opts.config)
	cfgFile := filepath.Join(s.dataDir, "xmppd.toml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for user, pass := range opts.users {
		s.ctl("user", "add", user+"@"+s.domain, "--password", pass)
	}
	s.launch()
	t.Cleanup(s.stop)
	return s
}

// launch starts the binary on s's configuration and waits until it listens.
func (s *server) launch() {
	s.t.Helper()
	s.exited = make(chan error, 1)
	s.cmd = exec.Command(binary, "serve", "--config", filepath.Join(s.dataDir, "xmppd.toml"))
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited, cmd := s.exited, s.cmd
	go func() { exited <- cmd.Wait() }()
	s.waitListening()
}

// restart stops the server with SIGTERM (a clean exit is required) and
// starts it again on the same data directory, configuration and ports.
func (s *server) restart() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			s.t.Fatalf("xmppd exited with %v on SIGTERM\n%s", err, s.log.String())
		}
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("xmppd did not stop within 15s of SIGTERM\n%s", s.log.String())
	}
	s.launch()
}

// crash kills the server (SIGKILL: no shutdown code runs) and starts it
// again on the same data directory, configuration and ports.
func (s *server) crash() {
	s.t.Helper()
	s.cmd.Process.Kill()
	<-s.exited
	s.launch()
}

// ctl runs an xmppd CLI command against this server's config and returns
// its combined output; it fails the test if the command fails.
func (s *server) ctl(args ...string) string {
	s.t.Helper()
	out, err := s.ctlErr(args...)
	if err != nil {
		s.t.Fatalf("xmppd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *server) ctlErr(args ...string) (string, error) {
	args = append(args, "--config", filepath.Join(s.dataDir, "xmppd.toml"))
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}

func (s *server) waitListening() {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.t.Fatalf("xmppd exited at start: %v\n%s", err, s.log.String())
		default:
		}
		c, err := net.DialTimeout("tcp", s.c2sAddr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("xmppd did not listen on %s\n%s", s.c2sAddr, s.log.String())
}

// stop sends SIGTERM and requires a clean exit within 15s. The server log
// is printed when the test failed or the server did not stop cleanly, and
// a data race reported by the race detector fails the test.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			s.t.Errorf("xmppd exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.t.Errorf("xmppd did not stop within 15s of SIGTERM")
	}
	if strings.Contains(s.log.String(), "WARNING: DATA RACE") {
		s.t.Errorf("the race detector reported a data race")
	}
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", s.log.String())
	}
}

// adminToken returns the admin API token written at first start.
func (s *server) adminToken() string {
	b, err := os.ReadFile(filepath.Join(s.dataDir, "admin-token"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects the server's output from its pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitLog waits until the server log contains substr.
func (s *server) waitLog(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(s.log.String(), substr) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// python is Debian's interpreter, which has python3-slixmpp (a pyenv
// python earlier on PATH would not).
const python = "/usr/bin/python3"

// runSlixmpp runs integration/slix/<script> against s with the given extra
// arguments; the script exits non-zero on failure and prints why.
func (s *server) runSlixmpp(script string, args ...string) {
	s.t.Helper()
	if _, err := os.Stat(python); err != nil {
		s.t.Fatalf("%s missing: install python3-slixmpp (.ci/run does)", python)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join("slix", script)}, args...)...)
	cmd.Env = append(os.Environ(),
		"XMPPD_C2S="+s.c2sAddr, "XMPPD_TLS="+s.tlsAddr, "XMPPD_HTTP="+s.httpAddr,
		"XMPPD_DOMAIN="+s.domain, "XMPPD_TOKEN="+s.adminToken(), "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		s.t.Errorf("slix/%s: %v\n%s", script, err, out.String())
		return
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		s.t.Log(sc.Text())
	}
}
