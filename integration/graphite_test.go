package integration

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/metrics/graphite/carbontest"
)

// TestGraphitePush runs xmppd with [metrics.graphite] pointed at a real
// carbon-cache on loopback, pushing every second under a prefix of our
// own: the registry arrives (the Go runtime's goroutine gauge), a login
// counter that has no series before anyone logs in arrives after two
// logins with the value 2, under the configured prefix, mechanism and
// result.
func TestGraphitePush(t *testing.T) {
	t.Parallel()
	c := carbontest.Start(t)
	s := startServer(t, serverOptions{
		users:  map[string]string{"alice": "alice-pw"},
		config: fmt.Sprintf("[metrics.graphite]\naddress = %q\nprefix = \"xmppd.itest\"\ninterval = \"1s\"\n", c.Addr),
	})
	nonEmpty := func(v []float64) bool { return len(v) > 0 }
	if g := c.Wait(t, "xmppd.itest.go_goroutines", 30*time.Second, nonEmpty); g[len(g)-1] < 1 {
		t.Errorf("go_goroutines pushed as %v", g)
	}

	const logins = "xmppd.itest.xmppd_c2s_auth_total.mechanism.PLAIN.result.success"
	if v, err := c.Values(logins); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("logins in carbon before anyone logged in: %v %v", v, err)
	}
	s.runSlixmpp("login.py", "alice", "alice-pw", "ok", "PLAIN")
	s.runSlixmpp("login.py", "alice", "alice-pw", "ok", "PLAIN")
	c.Wait(t, logins, 30*time.Second, func(v []float64) bool { return len(v) > 0 && v[len(v)-1] == 2 })
	// Everything is under the prefix: whisper/xmppd holds itest alone.
	if entries, err := os.ReadDir(filepath.Join(c.Whisper, "xmppd")); err != nil || len(entries) != 1 || entries[0].Name() != "itest" {
		t.Errorf("whisper/xmppd holds %v (%v), want itest alone", entries, err)
	}
	if strings.Contains(s.log.String(), "pushing metrics to graphite failed") {
		t.Errorf("the server logged failed pushes")
	}
}
