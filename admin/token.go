package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the token file inside the data directory.
const TokenFile = "admin-token"

// LoadOrCreateToken returns the admin token kept in dataDir, creating it
// (32 random bytes, hex, mode 0600) if absent. An existing file that is
// empty or not a 64-digit hex token is an error rather than silently
// replaced, since local tools may hold it.
func LoadOrCreateToken(dataDir string) (string, error) {
	tok, err := ReadToken(dataDir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("admin: token: %w", err)
	}
	tok = hex.EncodeToString(b[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("admin: token: %w", err)
	}
	name := filepath.Join(dataDir, TokenFile)
	// O_EXCL: if two starts race, one wins and the other reads its token.
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return ReadToken(dataDir)
	}
	if err != nil {
		return "", fmt.Errorf("admin: token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("admin: write token: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("admin: write token: %w", err)
	}
	return tok, nil
}

// ReadToken returns the admin token kept in dataDir. A missing file is an
// error that wraps fs.ErrNotExist.
func ReadToken(dataDir string) (string, error) {
	name := filepath.Join(dataDir, TokenFile)
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("admin: read token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if _, err := hex.DecodeString(tok); err != nil || len(tok) != 64 {
		return "", fmt.Errorf("admin: %s does not hold a 64-digit hex token; delete it to have a new one generated", name)
	}
	return tok, nil
}
