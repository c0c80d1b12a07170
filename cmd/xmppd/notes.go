package main

import (
	"context"
	"log/slog"

	"github.com/xmppd/xmppd/admin"
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

// noteRekeyer is the admin API's view of the note keys (admin.Notes):
// the keyring and the notes stored in the rosters.
type noteRekeyer struct {
	keys  *notes.Keyring
	notes notes.RekeySource
	log   *slog.Logger
}

var _ admin.Notes = noteRekeyer{}

func (n noteRekeyer) ReloadKeys() error  { return reloadNoteKeys(n.keys, n.log) }
func (n noteRekeyer) CurrentKey() string { return n.keys.CurrentID() }

func (n noteRekeyer) Rekey(ctx context.Context) (notes.Stats, error) {
	return notes.Rekey(ctx, n.notes, n.keys, n.log)
}
