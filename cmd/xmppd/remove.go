package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/lastactivity"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/offline"
	"github.com/xmppd/xmppd/privacy"
	"github.com/xmppd/xmppd/removal"
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/vcard"
)

// accountRemoval deletes accounts with all their data, the same way on
// every path: the admin API (accounts), xmppd user del on the store
// (directUsers) and in-band <remove/> (as a c2s feature whose
// OnAccountRemoved hook purges). srv is the running server, set once it
// exists and before anything is served; nil on the store path.
type accountRemoval struct {
	*removal.Remover
	srv *c2s.Server
}

var _ c2s.Feature = (*accountRemoval)(nil)

// newAccountRemoval lists what each feature stores per account; rosters
// and lists are the running features (or ones built on the store alone).
func newAccountRemoval(cfg Config, backend storage.Backend, acc *auth.Accounts, rosters *roster.Service, lists *privacy.Service, log *slog.Logger) (*accountRemoval, error) {
	a := &accountRemoval{}
	steps := []removal.Step{
		{Name: "roster", Remove: func(ctx context.Context, bare string) error { return rosters.RemoveAccount(ctx, a.srv, bare) }},
		{Name: "privacy", Remove: lists.RemoveAccount},
		{Name: "offline", Remove: func(ctx context.Context, bare string) error { return offline.ClearQueue(ctx, backend.Queues(), bare) }},
		{Name: "mam", Remove: func(ctx context.Context, bare string) error {
			return mam.RemoveUser(ctx, backend.Archives(), backend.KV(), bare)
		}},
		{Name: "vcard", Remove: func(ctx context.Context, bare string) error { return vcard.RemoveUser(ctx, backend.KV(), bare) }},
		{Name: "lastactivity", Remove: func(ctx context.Context, bare string) error { return lastactivity.RemoveUser(ctx, backend.KV(), bare) }},
	}
	rm, err := removal.New(removal.Options{
		Credentials: acc,
		Domain:      cfg.Domain,
		CloseSessions: func(ctx context.Context, bare string) error {
			if a.srv == nil {
				return nil
			}
			_, err := a.srv.CloseAccount(ctx, bare, "account deleted")
			return err
		},
		Steps: steps,
		Log:   log.With("component", "removal"),
	})
	if err != nil {
		return nil, err
	}
	a.Remover = rm
	return a, nil
}

// Register purges the data of accounts removed in-band.
func (a *accountRemoval) Register(r *c2s.Registry) error {
	r.OnAccountRemoved(func(ctx context.Context, bare string) { a.Purge(ctx, bare) })
	return nil
}

// storeRemoval is the accountRemoval of a store with no server running:
// the roster and privacy features are built on the store alone (their
// metrics go nowhere).
func storeRemoval(cfg Config, backend storage.Backend, acc *auth.Accounts) (*accountRemoval, error) {
	node, _ := os.Hostname()
	rosters, err := roster.New(roster.Options{
		Store:   crdtstore.New(backend.Documents(), roster.Kind, crdt.NewWriter("roster-cli@"+node, crdt.NewHLC(nil)), crdt.CompactPolicy{}),
		Metrics: prometheus.NewRegistry(),
		Log:     discardLog,
	})
	if err != nil {
		return nil, err
	}
	lists, err := privacy.New(privacy.Options{
		Store:   crdtstore.New(backend.Documents(), privacy.Kind, crdt.NewWriter("privacy-cli@"+node, crdt.NewHLC(nil)), crdt.CompactPolicy{}),
		Roster:  rosters,
		Metrics: prometheus.NewRegistry(),
		Log:     discardLog,
	})
	if err != nil {
		return nil, err
	}
	return newAccountRemoval(cfg, backend, acc, rosters, lists, discardLog)
}

// removingAccounts is the account store the admin API manages: deleting
// goes through the accountRemoval.
type removingAccounts struct {
	*auth.Accounts
	rm *accountRemoval
}

func (r removingAccounts) Delete(ctx context.Context, username string) error {
	return r.rm.Delete(ctx, username)
}
