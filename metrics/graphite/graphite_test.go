package graphite

import (
	"bytes"
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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/metrics"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{name: "zero", cfg: Config{}},
		{name: "full", cfg: Config{Address: "127.0.0.1:2003", Prefix: "xmppd.node-1", Interval: Duration(time.Minute)}},
		{name: "no port", cfg: Config{Address: "carbon"}, want: "metrics.graphite.address"},
		{name: "bad prefix", cfg: Config{Address: "c:2003", Prefix: "a..b"}, want: "metrics.graphite.prefix"},
		{name: "space prefix", cfg: Config{Address: "c:2003", Prefix: "a b"}, want: "metrics.graphite.prefix"},
		{name: "tiny interval", cfg: Config{Address: "c:2003", Interval: Duration(time.Millisecond)}, want: "metrics.graphite.interval"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestPushFailureCounted(t *testing.T) {
	reg := metrics.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := New(Config{Address: addr}, reg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(); err == nil {
		t.Fatal("Push to a closed port succeeded")
	}
	if err := p.Push(); err == nil {
		t.Fatal("second Push to a closed port succeeded")
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "xmppd_graphite_push_errors_total" && mf.GetMetric()[0].GetCounter().GetValue() == 2 {
			if err := metrics.Lint(reg, "graphite"); err != nil {
				t.Error(err)
			}
			return
		}
	}
	t.Error("xmppd_graphite_push_errors_total is not 2")
}

// carbon is a carbon-cache (Debian's graphite-carbon) on loopback.
type carbon struct {
	addr    string // plaintext line receiver
	whisper string // where it writes its whisper files
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

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startCarbon runs carbon-cache in the foreground with a configuration of
// its own in a temporary directory. Only a machine without carbon-cache
// skips the test (outside CI); an installed carbon-cache that does not come
// up is a failure, not a skip.
func startCarbon(t *testing.T) *carbon {
	bin, err := exec.LookPath("carbon-cache")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("carbon-cache not installed: test.sh installs graphite-carbon, so CI must have it")
		}
		t.Skip("carbon-cache not installed (apt-get install graphite-carbon; test.sh does)")
	}
	dir := t.TempDir()
	line, pickle, query := freePort(t), freePort(t), freePort(t)
	c := &carbon{addr: fmt.Sprintf("127.0.0.1:%d", line), whisper: filepath.Join(dir, "whisper"), out: &lockedBuffer{}}
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
`, dir, c.whisper, line, pickle, query)
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
		if conn, err := net.DialTimeout("tcp", c.addr, time.Second); err == nil {
			conn.Close()
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("carbon-cache did not listen on %s within 30s:\n%s", c.addr, c.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPushReachesCarbon pushes a registry to a real carbon-cache and reads
// the counter back from the whisper file it writes.
func TestPushReachesCarbon(t *testing.T) {
	c := startCarbon(t)
	reg := metrics.New()
	pushed := prometheus.NewCounter(prometheus.CounterOpts{Name: "xmppd_graphitetest_bumps_total", Help: "test counter"})
	reg.MustRegister(pushed)
	pushed.Add(7)
	p, err := New(Config{Address: c.addr, Prefix: "xmppd.testnode"}, reg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(c.whisper, "xmppd", "testnode", "xmppd_graphitetest_bumps_total.wsp")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(file); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not created within 30s", file)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The value: whisper's own reader (python3-whisper, a dependency of
	// graphite-carbon), once carbon has flushed it.
	for {
		out, err := exec.Command("/usr/bin/python3", "-c",
			"import sys, whisper\n(_, _, _), vals = whisper.fetch(sys.argv[1], 0)\nprint([v for v in vals if v is not None])", file).CombinedOutput()
		if err == nil && strings.Contains(string(out), "7.0") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("whisper file holds no 7: %v %s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
