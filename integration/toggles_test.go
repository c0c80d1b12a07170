package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppd/xmppd/toggles"
)

// slixResults runs a slix script against s like runSlixmpp and returns the
// lines it printed as "RESULT <line>".
func (s *server) slixResults(script string, args ...string) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join("slix", script)}, args...)...)
	cmd.Env = append(os.Environ(), "XMPPD_C2S="+s.c2sAddr, "XMPPD_TLS="+s.tlsAddr, "XMPPD_HTTP="+s.httpAddr,
		"XMPPD_DOMAIN="+s.domain, "XMPPD_TOKEN="+s.adminToken(), "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("slix/%s: %v\n%s", script, err, out.String())
	}
	var res []string
	for _, l := range strings.Split(out.String(), "\n") {
		if r, ok := strings.CutPrefix(l, "RESULT "); ok {
			res = append(res, r)
		}
	}
	return res
}

// TestTogglesRolloutOnTheWire rolls roster notes out to a percentage of
// users (plus one named user), checks on the wire which users disco#info
// tells about the feature, then raises the percentage without a restart —
// by SIGHUP, then by the REST reload — and checks again.
func TestTogglesRolloutOnTheWire(t *testing.T) {
	t.Parallel()
	const n = 16
	s := startServer(t, serverOptions{config: toggleConfig(30, "tog3@localhost")})
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("tog%d", i)
	}
	for _, name := range names {
		if code, body := apiCall(t, s, s.adminToken(), "POST", "/api/v1/users", `{"jid":"`+name+`@localhost","password":"pw"}`); code != 201 {
			t.Fatalf("adding %s: %d %s", name, code, body)
		}
	}
	check := func(percent int, named string) {
		t.Helper()
		lines := s.slixResults("toggles_disco.py", "tog", fmt.Sprint(n))
		on, off := 0, 0
		for i, name := range names {
			bare := name + "@localhost"
			want := bare == named || toggles.Bucket("roster_notes", bare) < percent
			got := i < len(lines) && lines[i] == name+" yes"
			if i >= len(lines) || !strings.HasPrefix(lines[i], name+" ") {
				t.Fatalf("unexpected output %q", lines)
			}
			if got != want {
				t.Errorf("percent %d: %s sees the feature = %v, want %v (bucket %d)", percent, name, got, want, toggles.Bucket("roster_notes", bare))
			}
			if got {
				on++
			} else {
				off++
			}
		}
		t.Logf("percent %d: %d users see roster notes, %d do not", percent, on, off)
	}
	check(30, "tog3@localhost")

	// Raise the rollout in the file and send SIGHUP.
	s.rewriteConfig(t, toggleConfig(70, "tog3@localhost"))
	s.cmd.Process.Signal(syscall.SIGHUP)
	if !s.waitLog("feature toggles reloaded", 10*time.Second) {
		t.Fatal("no reload after SIGHUP")
	}
	check(70, "tog3@localhost")

	// Everyone, through the API; an invalid file is refused first.
	s.rewriteConfig(t, toggleConfig(300, ""))
	if code, body := apiCall(t, s, s.adminToken(), "POST", "/api/v1/toggles/reload", ""); code != 422 || !strings.Contains(body, "percent") {
		t.Errorf("reload of an invalid file = %d %s, want 422 naming percent", code, body)
	}
	check(70, "tog3@localhost")
	s.rewriteConfig(t, toggleConfig(100, ""))
	if code, body := apiCall(t, s, s.adminToken(), "POST", "/api/v1/toggles/reload", ""); code != 200 || !strings.Contains(body, `"percent": 100`) {
		t.Fatalf("reload = %d %s", code, body)
	}
	check(100, "")
	if _, body := apiCall(t, s, s.adminToken(), "GET", "/metrics", ""); !strings.Contains(body, `xmppd_toggles_evaluations_total{result="on",toggle="roster_notes"}`) {
		t.Errorf("no toggle evaluations in /metrics")
	}
}

func toggleConfig(percent int, user string) string {
	users := "[]"
	if user != "" {
		users = fmt.Sprintf("[%q]", user)
	}
	return fmt.Sprintf("[toggles.roster_notes]\npercent = %d\nusers = %s\n", percent, users)
}

// rewriteConfig replaces the extra part of the server's config file.
func (s *server) rewriteConfig(t *testing.T, extra string) {
	t.Helper()
	name := filepath.Join(s.dataDir, "xmppd.toml")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if i := strings.Index(text, "[toggles.roster_notes]"); i >= 0 {
		text = text[:i]
	}
	if err := os.WriteFile(name, []byte(text+extra), 0o600); err != nil {
		t.Fatal(err)
	}
}
