package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/privacy"
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/toggles"
)

// This file adapts the server's parts to the admin API's small interfaces.

// sessions adapts the c2s server to the admin API.
type sessions struct{ srv *c2s.Server }

func (s sessions) SetDebug(jid string, until time.Time) error { return s.srv.SetDebug(jid, until) }

func (s sessions) Kick(jid, reason string) (int, error) { return s.srv.Kick(jid, reason) }

// List adds each resource's show and status (from its last available
// presence) to what c2s reports.
func (s sessions) List(bare string) []admin.SessionInfo {
	last := map[string]*stanza.Element{}
	for _, r := range s.srv.Directory().Resources(bare) {
		if p := r.LastPresence(); p != nil {
			last[r.JID().String()] = p
		}
	}
	var out []admin.SessionInfo
	for _, i := range s.srv.Sessions(bare) {
		si := admin.SessionInfo{
			JID: i.JID, RemoteAddr: i.RemoteAddr, Since: i.Since, Available: i.Available,
			Priority: i.Priority, Secure: i.Secure, Debug: i.Debug,
		}
		if p := last[i.JID]; p != nil {
			si.Show = p.ChildText(stanza.NSClient, "show")
			si.Status = p.ChildText(stanza.NSClient, "status")
		}
		out = append(out, si)
	}
	return out
}

// rosterView adapts the roster feature; roster.Service.Contacts already
// leaves notes out, and admin.Contact has no field for them.
type rosterView struct{ svc *roster.Service }

func (v rosterView) Contacts(ctx context.Context, user string) ([]admin.Contact, error) {
	items, err := v.svc.Contacts(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]admin.Contact, len(items))
	for i, it := range items {
		out[i] = admin.Contact{
			JID: it.JID, Name: it.Name, Groups: it.Groups, Subscription: it.State.Subscription(),
			PendingOut: it.State.PendingOut, PendingIn: it.State.PendingIn, Listed: it.Listed,
		}
	}
	return out, nil
}

// router routes the API's messages as the server routes a client's.
type router struct{ srv *c2s.Server }

func (r router) Route(ctx context.Context, st *stanza.Element) { r.srv.Route(ctx, nil, st) }

// gatedFeatures maps disco features to the toggle that rolls them out.
var gatedFeatures = map[string]string{
	roster.FeatureNotes:        toggleRosterNotes,
	privacy.FeatureIncremental: togglePrivacyIncremental,
}

// advertise decides whether user is told about feature: by its toggle
// when the configuration names that toggle, else yes.
func advertise(set *toggles.Set, user jid.JID, feature string) bool {
	name, gated := gatedFeatures[feature]
	if !gated || !set.Configured(name) {
		return true
	}
	return set.Enabled(name, user.Bare().String())
}

// toggleReloader puts the toggles of the configuration file in force; it
// serves SIGHUP and POST /api/v1/toggles/reload, one at a time.
type toggleReloader struct {
	set  *toggles.Set
	load func() (Config, error) // re-reads the file and the flags
	log  *slog.Logger
	mu   sync.Mutex
}

func (t *toggleReloader) List() []toggles.Info { return t.set.List() }

func (t *toggleReloader) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cfg, err := t.load()
	if err != nil {
		return err
	}
	if err := t.set.Update(cfg.Toggles); err != nil {
		return err
	}
	t.log.Info("feature toggles reloaded", "toggles", len(cfg.Toggles))
	return nil
}
