package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOpsAPI drives the REST API for backends over real HTTP while slixmpp
// clients make the state it reports (ops_api.py).
func TestOpsAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	cases := []string{"friendship", "messages", "kick", "debug"}
	s.addCaseUsers(cases, "alice", "bob", "carol")
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s.in(t).runSlixmpp("ops_api.py", c)
		})
	}
	t.Run("debug-log", func(t *testing.T) {
		// The debug case logs its marker raw; sessions without the switch
		// (the other cases') never do.
		t.Parallel()
		if !s.waitLog("debug-marker-debug", 60*time.Second) {
			t.Errorf("the debugged session's raw XML is not in the log")
		}
		if strings.Contains(s.log.String(), "<body>server maintenance") {
			t.Errorf("a session without the debug switch was logged raw")
		}
	})
}

// apiCall makes one request with token and returns the status and body.
func apiCall(t *testing.T, s *server, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.httpAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: error body %q is not {\"error\": ...}", method, path, b)
		}
	}
	return resp.StatusCode, string(b)
}

// TestOpsTokensCLI manages API tokens with the CLI while the server runs
// and checks scopes, revocation and the built-in token over HTTP; then
// with the server stopped, on the token file, which a restart picks up.
func TestOpsTokensCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: map[string]string{"alice": "pw"}})
	// The secret is the last line (stdout); the notice before it is stderr.
	lastLine := func(out string) string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[len(lines)-1]
	}
	store := lastLine(s.ctl("token", "add", "store", "--scope", "read"))
	if len(store) != 64 {
		t.Fatalf("token add printed %q, want a 64-digit token", store)
	}
	if !s.waitLog("admin api: token added", 5*time.Second) {
		t.Errorf("token add did not go through the running server's API")
	}
	ops := lastLine(s.ctl("token", "add", "ops", "--scope", "admin"))
	list := s.ctl("token", "list")
	for _, want := range []string{"admin-token", "store", "read", "ops", "admin"} {
		if !strings.Contains(list, want) {
			t.Errorf("token list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, store) {
		t.Errorf("token list shows a secret:\n%s", list)
	}
	if out, err := s.ctlErr("token", "add", "store", "--scope", "read"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("adding store twice: %v %s", err, out)
	}
	if out, err := s.ctlErr("token", "add", "x"); err == nil || !strings.Contains(out, "--scope") {
		t.Errorf("token add without --scope: %v %s", err, out)
	}

	alice := "alice@" + s.domain
	tests := []struct {
		name, token, method, path, body string
		want                            int
	}{
		{name: "read token reads friendship", token: store, method: "GET", path: "/api/v1/users/" + alice + "/friends", want: 200},
		{name: "read token reads presence", token: store, method: "GET", path: "/api/v1/users/" + alice + "/presence", want: 200},
		{name: "read token cannot send", token: store, method: "POST", path: "/api/v1/messages", body: `{"to":"` + alice + `","body":"x"}`, want: 403},
		{name: "read token cannot list tokens", token: store, method: "GET", path: "/api/v1/tokens", want: 403},
		{name: "admin token sends", token: ops, method: "POST", path: "/api/v1/messages", body: `{"to":"` + alice + `","body":"x"}`, want: 202},
		{name: "built-in token works", token: s.adminToken(), method: "GET", path: "/api/v1/tokens", want: 200},
		{name: "no token", method: "GET", path: "/api/v1/users", want: 401},
		{name: "bad token", token: strings.Repeat("0", 64), method: "GET", path: "/api/v1/users", want: 401},
		{name: "bad json", token: ops, method: "POST", path: "/api/v1/friendships/check", body: `{"pairs":`, want: 400},
		{name: "unknown user", token: store, method: "GET", path: "/api/v1/users/ghost@" + s.domain + "/friends", want: 404},
		{name: "unknown user friendship", token: store, method: "GET", path: "/api/v1/users/" + alice + "/friends/ghost@" + s.domain, want: 404},
		{name: "health", method: "GET", path: "/health", want: 200},
		{name: "ready", method: "GET", path: "/ready", want: 200},
	}
	for _, tt := range tests {
		if got, body := apiCall(t, s, tt.token, tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, got, body, tt.want)
		}
	}

	s.ctl("token", "revoke", "store")
	if got, _ := apiCall(t, s, store, "GET", "/api/v1/users", ""); got != 401 {
		t.Errorf("revoked token = %d, want 401", got)
	}
	if out, err := s.ctlErr("token", "revoke", "store"); err == nil || !strings.Contains(out, "no such token") {
		t.Errorf("revoking twice: %v %s", err, out)
	}
	if out, err := s.ctlErr("token", "revoke", "admin-token"); err == nil || !strings.Contains(out, "cannot be revoked") {
		t.Errorf("revoking the built-in token: %v %s", err, out)
	}

	// xmppd debug goes through the API too.
	if out := s.ctl("debug", alice, "--for", "5m"); !strings.Contains(out, "debug logging on for "+alice) {
		t.Errorf("xmppd debug: %s", out)
	}
	if out := s.ctl("debug", alice, "--off"); !strings.Contains(out, "debug logging off") {
		t.Errorf("xmppd debug --off: %s", out)
	}
	if out, err := s.ctlErr("debug", alice, "--for", "forever"); err == nil || !strings.Contains(out, "for:") {
		t.Errorf("xmppd debug --for forever: %v %s", err, out)
	}
}
