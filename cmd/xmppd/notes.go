package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/notes"
	"github.com/xmppd/xmppd/roster"
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

// checkNotesArgs checks the words after "notes".
func checkNotesArgs(args []string) error {
	return checkSubcommand("notes", "", []string{"rekey"}, map[string]bool{"rekey": true}, args)
}

// notesRekey runs "notes rekey": through the running server's admin API,
// which reloads its keys first, or else on the store with the keys the
// configuration names. Either way it prints what the rekey did; a rekey
// that could not rewrite some users' notes is an error after the counts.
func (c *cli) notesRekey(ctx context.Context, cfg Config) error {
	base := adminURL(cfg.Listen.HTTP)
	client, apiErr := probeAPI(ctx, cfg, base)
	var notOurs *foreignServerError
	switch {
	case apiErr == nil:
		// The call lasts as long as the rekey: no client timeout.
		client.HTTP = &http.Client{}
		resp, err := client.RekeyNotes(ctx)
		if err != nil {
			return explainAPIError(cfg, err)
		}
		fmt.Fprintln(c.stdout, resp)
		return nil
	case errors.As(apiErr, &notOurs):
		return apiErr
	}
	resp, err := c.rekeyOnStore(ctx, cfg, base, apiErr)
	if resp.CurrentKey != "" {
		fmt.Fprintln(c.stdout, resp)
	}
	return err
}

// rekeyOnStore rekeys the notes of the store itself, no server running.
func (c *cli) rekeyOnStore(ctx context.Context, cfg Config, base string, apiErr error) (admin.RekeyResponse, error) {
	backend, err := c.openDirect(cfg, base, apiErr)
	if err != nil {
		return admin.RekeyResponse{}, err
	}
	defer backend.Close()
	// Warnings (a key file others can read) and notes that fail
	// verification go to stderr; the progress lines a server logs do not.
	log := newLogger(c.stderr, "warn")
	keys, err := notes.Setup(cfg.Notes, cfg.DataDir, log)
	if err != nil {
		return admin.RekeyResponse{}, err
	}
	// A writer id of its own: a crdt writer id serves one process.
	node, _ := os.Hostname()
	rosters, err := roster.New(roster.Options{
		Store:   crdtstore.New(backend.Documents(), roster.Kind, crdt.NewWriter("roster-rekey@"+node, crdt.NewHLC(nil)), crdt.CompactPolicy{}),
		Notes:   keys,
		Metrics: prometheus.NewRegistry(),
		Log:     log,
	})
	if err != nil {
		return admin.RekeyResponse{}, err
	}
	st, err := notes.Rekey(ctx, rosters, keys, log)
	return admin.RekeyResponse{CurrentKey: keys.CurrentID(), Stats: st}, err
}
