package main

import (
	"log/slog"
	"sync"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/notes"
)

// A reloadPart is one part of the configuration that can change while the
// server runs. reload puts the new state in force or, on error, keeps the
// old one. ok and failed are what the log says after it, where reload
// does not log that itself.
type reloadPart struct {
	name       string
	reload     func() error
	ok, failed string
}

// configReloader does what SIGHUP does, for the signal and for POST
// /api/v1/reload, one reload at a time: it reloads every part, each on
// its own, so a broken token file does not stop a new certificate.
type configReloader struct {
	parts []reloadPart
	log   *slog.Logger
	mu    sync.Mutex
}

var _ admin.Reloader = (*configReloader)(nil)

// newConfigReloader reloads, in order: the TLS certificate, the API
// tokens, the feature toggles (from the configuration file) and the
// roster-note keys.
func newConfigReloader(cert func() error, tokens *admin.Tokens, toggles *toggleReloader, noteKeys *notes.Keyring, noteLog, log *slog.Logger) *configReloader {
	return &configReloader{log: log, parts: []reloadPart{
		{name: "certificate", reload: cert,
			ok: "certificate reloaded", failed: "reloading certificate failed; keeping the old one"},
		{name: "tokens", reload: tokens.Reload,
			ok: "API tokens reloaded", failed: "reloading API tokens failed; keeping the old ones"},
		// toggleReloader logs its success with the number of toggles.
		{name: "toggles", reload: toggles.Reload,
			failed: "reloading feature toggles failed; keeping the old ones"},
		// reloadNoteKeys logs its own outcome, without key material.
		{name: "note_keys", reload: func() error { return reloadNoteKeys(noteKeys, noteLog) }},
	}}
}

// Reload reloads every part, logs and reports each outcome.
func (r *configReloader) Reload() []admin.ReloadPart {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]admin.ReloadPart, 0, len(r.parts))
	for _, p := range r.parts {
		err := p.reload()
		switch {
		case err != nil && p.failed != "":
			r.log.Error(p.failed, "err", err)
		case err == nil && p.ok != "":
			r.log.Info(p.ok)
		}
		if err != nil {
			out = append(out, admin.ReloadPart{Part: p.name, Error: err.Error()})
			continue
		}
		out = append(out, admin.ReloadPart{Part: p.name, OK: true})
	}
	return out
}
