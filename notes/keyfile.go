package notes

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GeneratedKeyFile is the name of the key file EnsureKeyFile creates in
// the data directory.
const GeneratedKeyFile = "notes-keys"

// A rawKey is one parsed "<id> <key>" entry. secret is the configured key
// itself; it lives only until the keyring has derived its subkeys.
type rawKey struct {
	id     string
	secret []byte
	where  string // "file:3" or "$VAR entry 2", for error messages
}

// parseKeys reads "<id> <key>" entries, one per element of entries. where
// names the source in errors ("/etc/xmppd/notes-keys" or
// "$XMPPD_NOTES_KEYS") and unit what an entry is called there ("line" or
// "entry"). Errors name the entry by its 1-based number and never repeat
// the key.
func parseKeys(entries []string, where, unit string) ([]rawKey, error) {
	var keys []rawKey
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || strings.HasPrefix(e, "#") {
			continue
		}
		loc := fmt.Sprintf("%s %s %d", where, unit, i+1)
		fields := strings.Fields(e)
		if len(fields) != 2 {
			return nil, fmt.Errorf("notes: %s: want \"<id> <key>\", got %d fields", loc, len(fields))
		}
		id := fields[0]
		if !validKeyID.MatchString(id) {
			return nil, fmt.Errorf("notes: %s: key id %q is not 1 to %d letters, digits, '.', '_', '-'", loc, id, maxKeyID)
		}
		secret, err := decodeKey(fields[1])
		if err != nil {
			return nil, fmt.Errorf("notes: %s: key %q: %w", loc, id, err)
		}
		keys = append(keys, rawKey{id: id, secret: secret, where: loc})
	}
	return keys, nil
}

// decodeKey decodes a 16- or 32-byte key written as hex or base64. Its
// errors describe the problem without echoing s.
func decodeKey(s string) ([]byte, error) {
	var b []byte
	if len(s) == 32 || len(s) == 64 {
		if h, err := hex.DecodeString(s); err == nil {
			b = h
		}
	}
	if b == nil {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(s); err == nil {
				b = d
				break
			}
		}
	}
	switch {
	case b == nil:
		return nil, errors.New("neither hex nor base64")
	case len(b) != 16 && len(b) != 32:
		return nil, fmt.Errorf("decodes to %d bytes, want 16 or 32", len(b))
	case bytes.Count(b, b[:1]) == len(b):
		return nil, errors.New("all bytes are equal; generate a random key")
	}
	return b, nil
}

// readKeyFile parses the key file at path.
func readKeyFile(path string) ([]rawKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notes: read key file: %w", err)
	}
	return parseKeys(strings.Split(string(b), "\n"), path, "line")
}

// EnsureKeyFile returns the path of the generated key file in dataDir,
// creating it first if it does not exist: one random 256-bit key, hex, with
// an id "auto-" plus 8 random hex digits (random so that two machines that
// each generated a key report ErrUnknownKey for each other's notes rather
// than ErrTampered), mode 0600, synced to disk. An existing file is left
// as it is; LoadKeyring checks its content. Safe against a concurrent
// start: exactly one caller's file is linked into place, complete, and
// every caller then uses it.
func EnsureKeyFile(dataDir string) (path string, err error) {
	path = filepath.Join(dataDir, GeneratedKeyFile)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("notes: key file: %w", err)
	}
	var idb [4]byte
	var key [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", fmt.Errorf("notes: generate key: %w", err)
	}
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("notes: generate key: %w", err)
	}
	content := "# xmppd roster-note keys: one \"<id> <key>\" per line, the first is current.\n" +
		"# Generated on first start. Notes cannot be read without these keys: back\n" +
		"# this file up with the data, and keep old lines until a rekey is done.\n" +
		"auto-" + hex.EncodeToString(idb[:]) + " " + hex.EncodeToString(key[:]) + "\n"
	clear(key[:])

	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("notes: key file: %w", err)
	}
	// Write a complete file under a temporary name, then link it into
	// place: a concurrent start either wins the link or finds the whole
	// file, never a half-written one.
	f, err := os.CreateTemp(dataDir, GeneratedKeyFile+".tmp*")
	if err != nil {
		return "", fmt.Errorf("notes: key file: %w", err)
	}
	defer os.Remove(f.Name())
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(content)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("notes: write key file: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("notes: key file: %w", err)
	}
	if d, err := os.Open(dataDir); err == nil {
		// The directory entry must survive a crash too, or the notes
		// sealed under this key would outlive it.
		d.Sync()
		d.Close()
	}
	return path, nil
}
