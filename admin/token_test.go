package admin

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenCreatedOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := ReadToken(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadToken before creation = %v, want ErrNotExist", err)
	}
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 64 {
		t.Errorf("token %q has %d characters, want 64", tok, len(tok))
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Errorf("second LoadOrCreateToken = %q, %v; want the first token %q", again, err, tok)
	}
	read, err := ReadToken(dir)
	if err != nil || read != tok {
		t.Errorf("ReadToken = %q, %v; want %q", read, err, tok)
	}
	other, err := LoadOrCreateToken(t.TempDir())
	if err != nil || other == tok {
		t.Errorf("token of another data dir = %q, %v; want a different token", other, err)
	}
}

func TestTokenFileDamaged(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateToken(dir)
	if err == nil || !strings.Contains(err.Error(), "64-digit hex") {
		t.Errorf("LoadOrCreateToken with a damaged file = %v, want an error", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, TokenFile))
	if string(b) != "secret\n" {
		t.Error("damaged token file was overwritten")
	}
}

func TestNamedTokensPersistHashed(t *testing.T) {
	dir := t.TempDir()
	builtin := strings.Repeat("ab", 32)
	tk, err := OpenTokens(dir, builtin)
	if err != nil {
		t.Fatal(err)
	}
	secret, info, err := tk.Add("store", ScopeRead)
	if err != nil || info.Scope != ScopeRead || len(secret) != 64 {
		t.Fatalf("Add = %q, %+v, %v", secret, info, err)
	}
	if _, _, err := tk.Add("store", ScopeAdmin); !errors.Is(err, ErrTokenExists) {
		t.Errorf("second Add(store) = %v, want ErrTokenExists", err)
	}
	for _, bad := range []struct {
		name  string
		scope Scope
	}{{"", ScopeRead}, {"UPPER", ScopeRead}, {BuiltinTokenName, ScopeAdmin}, {"ok", "root"}} {
		if _, _, err := tk.Add(bad.name, bad.scope); !errors.Is(err, ErrBadToken) {
			t.Errorf("Add(%q, %q) = %v, want ErrBadToken", bad.name, bad.scope, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), `"sha256"`) {
		t.Errorf("token file holds the secret or no hash:\n%s", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, TokensFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", fi.Mode().Perm())
	}

	// A second process (the CLI with the server stopped) sees the token.
	again, err := OpenTokens(dir, builtin)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, secret string
		want         string // token name, "" for refused
	}{
		{name: "named", secret: secret, want: "store"},
		{name: "builtin", secret: builtin, want: BuiltinTokenName},
		{name: "wrong", secret: strings.Repeat("0", 64), want: ""},
		{name: "empty", secret: "", want: ""},
		{name: "prefix", secret: secret[:63], want: ""},
	}
	for _, tt := range tests {
		info, ok := again.Check(tt.secret)
		if ok != (tt.want != "") || info.Name != tt.want {
			t.Errorf("%s: Check = %+v, %v; want %q", tt.name, info, ok, tt.want)
		}
	}
	if err := again.Revoke("store"); err != nil {
		t.Fatal(err)
	}
	if err := again.Revoke(BuiltinTokenName); !errors.Is(err, ErrBuiltinToken) {
		t.Errorf("Revoke(builtin) = %v", err)
	}
	if err := again.Revoke("store"); !errors.Is(err, ErrNoSuchToken) {
		t.Errorf("second Revoke = %v, want ErrNoSuchToken", err)
	}
	if err := tk.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := tk.Check(secret); ok {
		t.Error("revoked token still accepted after Reload")
	}
	if list := tk.List(); len(list) != 1 || !list[0].Builtin {
		t.Errorf("List = %+v, want the built-in token only", list)
	}

	os.WriteFile(filepath.Join(dir, TokensFile), []byte("{not json"), 0o600)
	if _, err := OpenTokens(dir, builtin); err == nil {
		t.Error("OpenTokens with a corrupt file succeeded")
	}
}
