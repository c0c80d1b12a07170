package mam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// RoomArchiveOptions are the collaborators of a RoomArchive.
type RoomArchiveOptions struct {
	// Archives keeps the archives (required).
	Archives storage.Archives
	// Metrics is where xmppd_muc_mam_… metrics are registered (required).
	Metrics prometheus.Registerer
	Log     *slog.Logger
	// Config sets retention and page sizes, as for user archives;
	// Default is not used (a room has no preferences).
	Config Config
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// A RoomArchive keeps the archives of MUC rooms (XEP-0313 §5.1.2, "MUC
// archives") under {Kind: "mam", User: room bare JID} and answers queries
// on them with the parsing, paging and <fin/> of user archives. It has no
// hooks and no preferences: the MUC service decides what to archive. It is
// safe for concurrent use.
type RoomArchive struct{ s *Service }

// NewRoomArchive returns a RoomArchive.
func NewRoomArchive(opts RoomArchiveOptions) (*RoomArchive, error) {
	if opts.Archives == nil || opts.Metrics == nil {
		return nil, errors.New("mam: RoomArchiveOptions need Archives and Metrics")
	}
	s, err := build(Options{Archives: opts.Archives, Metrics: opts.Metrics, Log: opts.Log, Config: opts.Config, Now: opts.Now},
		"xmppd_muc_mam_", "muc_mam")
	if err != nil {
		return nil, err
	}
	return &RoomArchive{s}, nil
}

// Append archives msg, a groupchat message as the room reflects it, in
// room's archive and returns the archive id for its XEP-0359 stanza-id.
func (a *RoomArchive) Append(ctx context.Context, room jid.JID, msg *stanza.Element) (string, error) {
	s := a.s
	owner := room.Bare().String()
	now := s.now().UTC()
	// With is the room itself: a 'with' of an occupant's room JID is then
	// the room's entries whose from is that JID (the full-JID check).
	id, err := s.arch.Append(ctx, s.key(owner), storage.ArchiveEntry{Time: now, With: owner, Data: msg.AppendXML(nil, "")})
	if err != nil {
		s.m.errors.WithLabelValues("append").Inc()
		return "", fmt.Errorf("mam: archiving in %s: %w", owner, err)
	}
	s.m.archived.WithLabelValues("in").Inc()
	s.prune(ctx, owner, now)
	return id, nil
}

// Query answers an urn:xmpp:mam:2 <query/> (IQ type set) to room from the
// full JID to: result messages from the room go through send, and the
// returned element is the <fin/> of the IQ result. Errors are
// *c2s.StanzaError for bad requests, or wrapped storage errors.
func (a *RoomArchive) Query(ctx context.Context, room, to jid.JID, iqID string, payload *stanza.Element, send func(*stanza.Element) error) (*stanza.Element, error) {
	s := a.s
	owner := room.Bare().String()
	res, err := s.queryArchive(ctx, s.key(owner), owner, to, iqID, payload, send)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.m.queries.WithLabelValues(outcome).Inc()
	return res, err
}

// Clear removes room's whole archive (the room is destroyed).
func (a *RoomArchive) Clear(ctx context.Context, room jid.JID) error {
	if err := a.s.arch.Clear(ctx, a.s.key(room.Bare().String())); err != nil {
		a.s.m.errors.WithLabelValues("clear").Inc()
		return fmt.Errorf("mam: clearing %s: %w", room.Bare().String(), err)
	}
	return nil
}

// QueryForm returns the <query/> holding the form of the query fields,
// the answer to an IQ get (XEP-0313 §4.1.5).
func QueryForm() *stanza.Element { return queryForm() }
