package main

import (
	"strings"
	"testing"

	"github.com/xmppd/xmppd/admin"
)

// TestTokenCommandsWithoutServer manages tokens on the file when no server
// answers; a server started later accepts them (admin.OpenTokens is what
// serve reads).
func TestTokenCommandsWithoutServer(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--data-dir", dir, "--http-addr", freeAddr(t)}
	r := runCLI(t, "", append([]string{"token", "add", "leagues", "--scope", "read"}, flags...)...)
	secret := strings.TrimSpace(r.stdout)
	if r.code != 0 || len(secret) != 64 || !strings.Contains(r.stderr, "shown only now") {
		t.Fatalf("token add = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", append([]string{"token", "add", "leagues", "--scope", "admin"}, flags...)...); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second token add = %d %q", r.code, r.stderr)
	}
	r = runCLI(t, "", append([]string{"token", "list"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "leagues") || !strings.Contains(r.stdout, "admin-token") || strings.Contains(r.stdout, secret) {
		t.Errorf("token list = %d %q", r.code, r.stdout)
	}
	builtin, err := admin.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := admin.OpenTokens(dir, builtin)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := tokens.Check(secret); !ok || info.Scope != admin.ScopeRead {
		t.Errorf("the server would see %+v, %v", info, ok)
	}
	if r := runCLI(t, "", append([]string{"token", "revoke", "leagues"}, flags...)...); r.code != 0 {
		t.Errorf("token revoke = %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "", append([]string{"token", "revoke", "leagues"}, flags...)...); r.code != 1 || !strings.Contains(r.stderr, `no such token "leagues"`) {
		t.Errorf("second revoke = %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "", append([]string{"debug", "alice@localhost"}, flags...)...); r.code != 1 || !strings.Contains(r.stderr, "needs the running server") {
		t.Errorf("debug without a server = %d %q", r.code, r.stderr)
	}
}
