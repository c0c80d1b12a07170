package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestControlCommands runs xmppd status, sessions, kick and reload against
// the real server: a kick closes a live session with the operator's
// reason, a reload puts a changed toggle in force (seen on the wire by
// slixmpp), delayed logins show in the metrics, and without a running
// server each command says so.
func TestControlCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{
		config: "[c2s]\nauth_failures_per_minute = 1\n\n" + toggleConfig(0, ""),
		users:  map[string]string{"ctl0": "pw", "ctlbob": "pw"},
	})
	phone := loginRaw(t, s, "ctl0", "phone")
	loginRaw(t, s, "ctl0", "pc")

	out := s.ctl("status")
	for _, want := range []string{"domain    localhost", "sessions  2", "rooms     0", "storage   ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("xmppd status lacks %q:\n%s", want, out)
		}
	}

	out = s.ctl("sessions", "ctl0@localhost")
	if !strings.Contains(out, "ctl0@localhost/phone") || !strings.Contains(out, "ctl0@localhost/pc") {
		t.Errorf("xmppd sessions ctl0 lacks a resource:\n%s", out)
	}
	if out := s.ctl("sessions", "ctlbob@localhost"); out != "no sessions for ctlbob@localhost\n" {
		t.Errorf("xmppd sessions ctlbob = %q", out)
	}

	// Kick one resource: its stream ends with the reason as text.
	if out := s.ctl("kick", "ctl0@localhost/phone", "--reason", "cheating in ranked"); !strings.Contains(out, "closed 1 session of ctl0@localhost/phone (reason: cheating in ranked)") {
		t.Errorf("xmppd kick = %q", out)
	}
	n, err := phone.next()
	if err != nil {
		t.Fatalf("kicked stream: %v", err)
	}
	if n.child(nsStreamErrors, "policy-violation") == nil || n.child(nsStreamErrors, "text") == nil || n.child(nsStreamErrors, "text").Text != "cheating in ranked" {
		t.Errorf("kicked stream got %s, want <policy-violation/> with the reason", n)
	}
	if out := s.ctl("sessions", "ctl0@localhost"); strings.Contains(out, "/phone") || !strings.Contains(out, "/pc") {
		t.Errorf("after the kick, xmppd sessions = %q, want only pc", out)
	}
	if out, err := s.ctlErr("kick", "ctlbob@localhost"); err == nil || !strings.Contains(out, "no session bound for ctlbob@localhost") {
		t.Errorf("kick of an offline user = %v %q", err, out)
	}

	// A changed toggle is in force after xmppd reload, on the wire.
	if got := s.slixResults("toggles_disco.py", "ctl", "1"); !slices.Equal(got, []string{"ctl0 no"}) {
		t.Fatalf("before the reload: %q, want ctl0 without roster notes", got)
	}
	s.rewriteConfig(t, toggleConfig(0, "ctl0@localhost"))
	out = s.ctl("reload")
	for _, want := range []string{"certificate  reloaded", "tokens       reloaded", "toggles      reloaded", "note_keys    reloaded"} {
		if !strings.Contains(out, want) {
			t.Errorf("xmppd reload lacks %q:\n%s", want, out)
		}
	}
	if got := s.slixResults("toggles_disco.py", "ctl", "1"); !slices.Equal(got, []string{"ctl0 yes"}) {
		t.Errorf("after the reload: %q, want ctl0 with roster notes", got)
	}
	// A configuration file that does not load stops the command before
	// it reaches the server; the toggles in force stay.
	s.rewriteConfig(t, toggleConfig(300, ""))
	if out, err := s.ctlErr("reload"); err == nil || !strings.Contains(out, "percent: 300 must be 0 to 100") {
		t.Errorf("reload with an invalid file = %v %q", err, out)
	}
	s.rewriteConfig(t, toggleConfig(0, "ctl0@localhost"))
	// A token file that does not parse fails its part only: the command
	// fails and names it, the other parts reload.
	tokenFile := filepath.Join(s.dataDir, "api-tokens.json")
	if err := os.WriteFile(tokenFile, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = s.ctlErr("reload")
	if err == nil || !strings.Contains(out, "tokens       FAILED, previous state kept") || !strings.Contains(out, "toggles      reloaded") || !strings.Contains(out, "reload incomplete") {
		t.Errorf("reload with a broken token file = %v %q", err, out)
	}
	os.Remove(tokenFile)
	if got := s.slixResults("toggles_disco.py", "ctl", "1"); !slices.Equal(got, []string{"ctl0 yes"}) {
		t.Errorf("after the failed reloads: %q, want the toggles in force", got)
	}

	// One failure reaches the limit of 1 a minute: the next login waits
	// and is counted.
	c, _ := secure(t, s)
	if n := c.authPlain("ctlbob", "wrong"); n.XMLName.Local != "failure" {
		t.Fatalf("wrong password: %s", n)
	}
	start := time.Now()
	loginRaw(t, s, "ctlbob", "r")
	t.Logf("login after a failure took %v", time.Since(start))
	if _, body := apiCall(t, s, s.adminToken(), "GET", "/metrics", ""); !strings.Contains(body, "xmppd_c2s_auth_throttled_total 1") {
		t.Errorf("/metrics lacks xmppd_c2s_auth_throttled_total 1")
	}

	// Without a server at the address, each command says so.
	other := freePort(t)
	for _, args := range [][]string{{"status"}, {"reload"}, {"sessions", "ctl0@localhost"}, {"kick", "ctl0@localhost"}} {
		out, err := s.ctlErr(append(args, "--http-addr", other)...)
		if err == nil || !strings.Contains(out, "server not running: no admin API at http://"+other) {
			t.Errorf("xmppd %s with no server = %v %q", args[0], err, out)
		}
	}
}
