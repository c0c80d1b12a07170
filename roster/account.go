package roster

import (
	"context"
	"fmt"
	"strings"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// RemoveAccount forgets the roster of user (a normalised bare JID) whose
// account is being deleted (XEP-0077 §3.2, RFC 6121 §2.5.2): each contact
// gets an unsubscribe for the subscription user had to it (or requested)
// and an unsubscribed for the one it had to user (or asked for), so local
// contacts' rosters drop the subscription states and their clients get
// the pushes; then the roster document is deleted.
//
// srv is the running server that reaches the contacts; nil when none runs
// (xmppd user del on the store), in which case local contacts' stored
// rosters are still updated but remote contacts cannot be told.
func (s *Service) RemoveAccount(ctx context.Context, srv *c2s.Server, user string) error {
	items, err := s.Contacts(ctx, user)
	if err != nil {
		return err
	}
	e := env{dir: noSessions{}, route: func(context.Context, *stanza.Element) {}}
	if srv != nil {
		e = env{
			dir:    srv.Directory(),
			domain: srv.Domain().String(),
			route:  func(ctx context.Context, st *stanza.Element) { srv.Route(ctx, nil, st) },
		}
	} else {
		_, e.domain, _ = strings.Cut(user, "@")
	}
	for _, it := range items {
		if it.State.To || it.State.PendingOut {
			s.m.transitions.WithLabelValues("out", "unsubscribe").Inc()
			s.forward(ctx, e, user, it.JID, "unsubscribe", nil)
		}
		if it.State.From || it.State.PendingIn {
			s.m.transitions.WithLabelValues("out", "unsubscribed").Inc()
			s.forward(ctx, e, user, it.JID, "unsubscribed", nil)
		}
	}
	if err := s.store.Delete(ctx, user); err != nil {
		s.m.storeErrors.Inc()
		return fmt.Errorf("roster: %w", err)
	}
	return nil
}

// noSessions is the Directory of a store with no server running: nobody
// is bound.
type noSessions struct{ c2s.Directory }

func (noSessions) Resources(string) []c2s.Resource { return nil }
