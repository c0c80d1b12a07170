package notes

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Setup loads the keyring for a server whose data lives in dataDir. When
// cfg configures no key source — no key file and an empty or unset key
// variable — it uses, and on first start creates, the generated key file
// in dataDir (EnsureKeyFile) and says so in the log, so that a fresh
// machine starts without any key setup. It also warns when a key file is
// readable by other users, and when a generated key file exists but other
// keys are configured (notes sealed under it would not open).
func Setup(cfg Config, dataDir string, log *slog.Logger, opts ...Option) (*Keyring, error) {
	generated := filepath.Join(dataDir, GeneratedKeyFile)
	configured := cfg.KeyFile != "" || strings.TrimSpace(os.Getenv(cfg.keyEnv())) != ""
	switch {
	case !configured:
		_, statErr := os.Stat(generated)
		path, err := EnsureKeyFile(dataDir)
		if err != nil {
			return nil, err
		}
		cfg.KeyFile = path
		if statErr != nil {
			log.Info("no roster-note keys configured: generated a key file; back it up with the data, and in a cluster set notes.key_file to one shared file on every node",
				"file", path)
		} else {
			log.Info("no roster-note keys configured: using the generated key file", "file", path)
		}
	case filepath.Clean(cfg.KeyFile) != filepath.Clean(generated):
		if _, err := os.Stat(generated); err == nil {
			log.Warn("a generated note key file exists but other keys are configured: notes sealed under it will not open until its key line is added to them",
				"file", generated)
		}
	}
	k, err := LoadKeyring(cfg, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.KeyFile != "" {
		fi, err := os.Stat(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("notes: key file: %w", err)
		}
		if fi.Mode().Perm()&fs.FileMode(0o077) != 0 {
			log.Warn("note key file is readable by other users; chmod 600 it", "file", cfg.KeyFile, "mode", fi.Mode().Perm().String())
		}
	}
	log.Info("roster-note keys loaded", "keyring", k)
	return k, nil
}
