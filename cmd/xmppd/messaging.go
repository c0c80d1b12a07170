package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/carbons"
	"github.com/xmppd/xmppd/lastactivity"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/vcard"
)

// messagingFeatures builds what modern clients expect beside rosters and
// offline messages: the message archive (XEP-0313), vCards with avatar
// hashes (XEP-0054, XEP-0153), last activity (XEP-0012) and message
// carbons (XEP-0280). The archive's
// "roster" preference and last activity's authorisation read the roster
// through its exported Contacts.
func messagingFeatures(cfg Config, backend storage.Backend, rosters *roster.Service, reg prometheus.Registerer, log *slog.Logger) ([]c2s.Feature, error) {
	lookup := rosterLookup{rosters}
	archive, err := mam.New(mam.Options{
		Archives: backend.Archives(),
		KV:       backend.KV(),
		InRoster: lookup.listed,
		Metrics:  reg,
		Log:      log,
		Config:   cfg.MAM,
	})
	if err != nil {
		return nil, err
	}
	cards, err := vcard.New(vcard.Options{KV: backend.KV(), Metrics: reg, Log: log, Config: cfg.VCard})
	if err != nil {
		return nil, err
	}
	last, err := lastactivity.New(lastactivity.Options{KV: backend.KV(), Subscribed: lookup.subscribedFrom, Metrics: reg, Log: log})
	if err != nil {
		return nil, err
	}
	return []c2s.Feature{archive, cards, last, carbons.New()}, nil
}

// rosterLookup answers other features' questions about a roster.
type rosterLookup struct{ r *roster.Service }

// item returns owner's roster item for contact, if any.
func (l rosterLookup) item(ctx context.Context, owner, contact string) (roster.Item, bool, error) {
	items, err := l.r.Contacts(ctx, owner)
	if err != nil {
		return roster.Item{}, false, err
	}
	for _, it := range items {
		if it.JID == contact {
			return it, true, nil
		}
	}
	return roster.Item{}, false, nil
}

// listed reports whether contact is on owner's roster.
func (l rosterLookup) listed(ctx context.Context, owner, contact string) (bool, error) {
	it, ok, err := l.item(ctx, owner, contact)
	return ok && it.Listed, err
}

// subscribedFrom reports whether requester receives owner's presence.
func (l rosterLookup) subscribedFrom(ctx context.Context, owner, requester string) (bool, error) {
	it, ok, err := l.item(ctx, owner, requester)
	return ok && it.State.From, err
}
