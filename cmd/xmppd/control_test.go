package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/admin"
)

// standIn is the running server the control commands talk to: the real
// admin API over fake sessions, status and reload.
type standIn struct {
	kicked  []string
	reloads int
	failing string // the part whose reload fails, if any
	pingErr error
}

func (s *standIn) SetDebug(string, time.Time) error { return nil }

func (s *standIn) List(bare string) []admin.SessionInfo {
	if bare != "alice@localhost" {
		return nil
	}
	since := time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)
	return []admin.SessionInfo{
		{JID: "alice@localhost/phone", RemoteAddr: "127.0.0.1:40000", Since: since, Available: true, Show: "dnd", Status: "in a match", Priority: 5, Secure: true},
		{JID: "alice@localhost/pc", RemoteAddr: "127.0.0.1:40001", Since: since, Secure: true, Debug: true},
	}
}

func (s *standIn) Kick(jid, reason string) (int, error) {
	if !strings.HasPrefix(jid, "alice@localhost") {
		return 0, nil
	}
	s.kicked = append(s.kicked, jid+":"+reason)
	if strings.Contains(jid, "/") {
		return 1, nil
	}
	return 2, nil
}

func (s *standIn) Status() admin.Status {
	return admin.Status{Version: "9.9.9", Started: time.Now().Add(-2 * time.Hour), Sessions: 3, Rooms: 1}
}

func (s *standIn) Reload() []admin.ReloadPart {
	s.reloads++
	var out []admin.ReloadPart
	for _, p := range []string{"certificate", "tokens", "toggles", "note_keys"} {
		if p == s.failing {
			out = append(out, admin.ReloadPart{Part: p, Error: "bad file"})
		} else {
			out = append(out, admin.ReloadPart{Part: p, OK: true})
		}
	}
	return out
}

func (s *standIn) Ping(context.Context) error { return s.pingErr }

// noAccounts is an empty account store; the control commands use none.
type noAccounts struct{}

func (noAccounts) Add(context.Context, string, string) error         { return errors.New("read-only") }
func (noAccounts) SetPassword(context.Context, string, string) error { return errors.New("read-only") }
func (noAccounts) Delete(context.Context, string) error              { return errors.New("read-only") }
func (noAccounts) Exists(context.Context, string) (bool, error)      { return false, nil }
func (noAccounts) List(context.Context) ([]string, error)            { return nil, nil }

func startStandIn(t *testing.T, dir string) (*standIn, string) {
	t.Helper()
	token, err := admin.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{}
	api, err := admin.New(admin.Options{Domain: "localhost", Token: token, Accounts: noAccounts{}, Sessions: s, Status: s, Reload: s, Ready: s})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	return s, ts.Listener.Addr().String()
}

func TestControlCommands(t *testing.T) {
	dir := t.TempDir()
	s, addr := startStandIn(t, dir)
	common := []string{"--data-dir", dir, "--http-addr", addr}
	tests := []struct {
		name     string
		args     []string
		failing  string
		pingErr  error
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{name: "status", args: []string{"status"},
			wantOut: []string{"domain    localhost", "version   9.9.9", "uptime    2h0m0s (since ", "sessions  3", "rooms     1", "storage   ok (ping "}},
		{name: "status storage failing", args: []string{"status"}, pingErr: errors.New("disk on fire"), wantCode: 1,
			wantOut: []string{"storage   FAILING: disk on fire", "sessions  3"}, wantErr: "storage unhealthy: disk on fire"},
		{name: "reload", args: []string{"reload"},
			wantOut: []string{"certificate  reloaded", "tokens       reloaded", "toggles      reloaded", "note_keys    reloaded"}},
		{name: "reload partly failed", args: []string{"reload"}, failing: "tokens", wantCode: 1,
			wantOut: []string{"certificate  reloaded", "tokens       FAILED, previous state kept: bad file", "note_keys    reloaded"},
			wantErr: "reload incomplete"},
		{name: "sessions", args: []string{"sessions", "alice@localhost"},
			wantOut: []string{"JID", "alice@localhost/phone  127.0.0.1:40000  2025-03-01T11:00:00Z  dnd (in a match)  5", "alice@localhost/pc     127.0.0.1:40001  2025-03-01T11:00:00Z  unavailable       0         yes  yes"}},
		{name: "sessions none", args: []string{"sessions", "sam@localhost"}, wantOut: []string{"no sessions for sam@localhost"}},
		{name: "sessions bad jid", args: []string{"sessions", "a@b@c"}, wantCode: 1, wantErr: "HTTP 400"},
		{name: "kick all", args: []string{"kick", "alice@localhost"}, wantOut: []string{"closed 2 sessions of alice@localhost (reason: " + admin.DefaultKickReason + ")"}},
		{name: "kick one with reason", args: []string{"kick", "alice@localhost/pc", "--reason", "cheating"},
			wantOut: []string{"closed 1 session of alice@localhost/pc (reason: cheating)"}},
		{name: "kick offline", args: []string{"kick", "sam@localhost"}, wantCode: 1, wantErr: "no session bound for sam@localhost"},
		{name: "kick without jid", args: []string{"kick"}, wantCode: 2, wantErr: "kick takes one JID"},
		{name: "sessions without jid", args: []string{"sessions"}, wantCode: 2, wantErr: "sessions takes one bare JID"},
		{name: "status with words", args: []string{"status", "now"}, wantCode: 2, wantErr: "status takes no arguments"},
		{name: "reason elsewhere", args: []string{"sessions", "alice@localhost", "--reason", "x"}, wantCode: 2, wantErr: "--reason is only for kick"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.failing, s.pingErr = tt.failing, tt.pingErr
			r := runCLI(t, "", append(tt.args, common...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("xmppd %q = %d, stderr %q; want %d, stderr containing %q", tt.args, r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("xmppd %q stdout %q lacks %q", tt.args, r.stdout, want)
				}
			}
		})
	}
	if got := strings.Join(s.kicked, ","); got != "alice@localhost:"+admin.DefaultKickReason+",alice@localhost/pc:cheating" {
		t.Errorf("kicked = %q", got)
	}
}

// TestControlCommandsNeedTheServer: with no server every control command
// says so, and with an address that serves another domain it says that.
func TestControlCommandsNeedTheServer(t *testing.T) {
	dir := t.TempDir()
	if _, err := admin.LoadOrCreateToken(dir); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	for _, args := range [][]string{{"status"}, {"reload"}, {"sessions", "alice@localhost"}, {"kick", "alice@localhost"}} {
		r := runCLI(t, "", append(args, "--data-dir", dir, "--http-addr", addr)...)
		want := "server not running: no admin API at http://" + addr
		if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "xmppd "+args[0]+" works only against a running server") {
			t.Errorf("xmppd %q without a server = %d %q, want %q", args, r.code, r.stderr, want)
		}
	}
	if r := runCLI(t, "", "status", "--data-dir", dir, "--http-addr", ""); r.code != 1 || !strings.Contains(r.stderr, "server not running: listen.http is empty") {
		t.Errorf("status with no admin listener = %d %q", r.code, r.stderr)
	}
	_, other := startStandIn(t, dir)
	if r := runCLI(t, "", "status", "--data-dir", dir, "--http-addr", other, "--domain", "example.net"); r.code != 1 || !strings.Contains(r.stderr, "serves domain localhost, not example.net") {
		t.Errorf("status against another domain's API = %d %q", r.code, r.stderr)
	}
}

func TestConfigReloaderReloadsEveryPart(t *testing.T) {
	var ran []string
	part := func(name string, err error) reloadPart {
		return reloadPart{name: name, ok: name + " reloaded", failed: name + " failed", reload: func() error { ran = append(ran, name); return err }}
	}
	var logs strings.Builder
	r := &configReloader{log: slog.New(slog.NewTextHandler(&logs, nil)), parts: []reloadPart{
		part("certificate", nil), part("tokens", errors.New("bad json")), part("toggles", nil),
	}}
	got := r.Reload()
	if strings.Join(ran, ",") != "certificate,tokens,toggles" {
		t.Errorf("reloaded %v, want every part after a failure too", ran)
	}
	want := []admin.ReloadPart{{Part: "certificate", OK: true}, {Part: "tokens", Error: "bad json"}, {Part: "toggles", OK: true}}
	if len(got) != len(want) {
		t.Fatalf("Reload() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, line := range []string{`level=INFO msg="certificate reloaded"`, `level=ERROR msg="tokens failed" err="bad json"`, `level=INFO msg="toggles reloaded"`} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %s:\n%s", line, logs.String())
		}
	}
}
