package main

import (
	"log/slog"

	"github.com/xmppd/xmppd/notes"
)

// reloadNoteKeys re-reads the roster-note keys (SIGHUP, and the admin
// API before a rekey). It logs the key ids now in force, or why the old
// keys stay; neither message carries key material (notes.Keyring logs as
// its ids, and its load errors name lines, never keys).
func reloadNoteKeys(k *notes.Keyring, log *slog.Logger) error {
	if err := k.Reload(); err != nil {
		log.Error("reloading roster-note keys failed; keeping the old ones", "err", err, "keyring", k)
		return err
	}
	log.Info("roster-note keys reloaded", "keyring", k)
	return nil
}
