package main

import (
	"github.com/xmppd/xmppd/toggles"
)

// Toggles the server consults. Each gates a behaviour that is on for
// everyone until the configuration (or PUT /api/v1/features/NAME) names
// the toggle (toggles.Set.Allows); docs/config.md lists them.
const (
	toggleRosterNotes  = "roster_notes"
	toggleOfflineStore = "offline_storage"
	toggleMUCCreate    = "muc_create"
	toggleRegistration = "registration"
	// togglePrivacyIncremental also gates the disco advertisement of
	// urn:xmppd:privacy-incremental:0 (gatedFeatures).
	togglePrivacyIncremental = "privacy_incremental"
)

// gates are the toggles above with what they gate, for
// GET /api/v1/features.
var gates = []toggles.Gate{
	{Name: toggleRosterNotes, Gates: "disco#info tells the user about roster notes (urn:xmppd:roster-notes:0); per user"},
	{Name: toggleOfflineStore, Gates: "messages to the user while offline are stored (XEP-0160); when off they bounce with service-unavailable; per recipient"},
	{Name: toggleMUCCreate, Gates: "the user may create rooms on the MUC service (joining existing rooms is not affected); refused creators get not-allowed; per user"},
	{Name: togglePrivacyIncremental, Gates: "incremental privacy-list updates (urn:xmppd:privacy-incremental:0): advertised in disco and accepted; when off, <add/>/<remove/> get feature-not-implemented; per user"},
	{Name: toggleRegistration, Gates: "in-band registration (XEP-0077, when c2s.allow_registration is on) may create the account; refused attempts get not-allowed; per new account"},
}

// features is admin.Features over the toggle set.
type features struct{ set *toggles.Set }

func (f features) Features() []toggles.Feature { return f.set.Features(gates) }

func (f features) Override(name string, t toggles.Toggle) error { return f.set.Override(name, t) }
