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
