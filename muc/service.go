package muc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// Options are the collaborators of a Service.
type Options struct {
	// ServerDomain is the XMPP domain of the server; the service serves
	// Config.Domain, by default "conference." + ServerDomain. Required.
	ServerDomain string
	// Store keeps persistent rooms (kind "muc_room"); nil keeps every room
	// in memory only and refuses to make rooms persistent.
	Store storage.KV
	// Metrics is where xmppd_muc_… metrics are registered; required.
	Metrics prometheus.Registerer
	// Log receives errors worth an operator's attention.
	Log    *slog.Logger
	Config Config
	// Now returns the time (tests); nil means time.Now.
	Now func() time.Time
	// AllowCreate, when set, says whether a user (a bare JID) may create
	// rooms; refused creators get <not-allowed/> (XEP-0045 §10.1.1).
	// Joining existing rooms is not affected. cmd/xmppd wires the
	// muc_create toggle here.
	AllowCreate func(user jid.JID) bool
	// Archives, when set, keeps each room's archive of groupchat messages
	// (XEP-0313 MUC archives) under {Kind: "mam", User: room bare JID};
	// nil archives nothing and rooms answer no archive queries.
	Archives storage.Archives
	// ArchiveConfig sets the room archives' retention and page sizes.
	ArchiveConfig mam.Config
}

// A Service is the MUC component. Register it with the c2s server; it then
// serves every stanza to its domain in the sender's goroutine.
type Service struct {
	cfg    Config
	domain string
	store  storage.KV
	log    *slog.Logger
	m      *mucMetrics
	now    func() time.Time
	rooms  *registry
	users  *userCounts
	slot   c2s.Slot[*memberships]
	// allowCreate gates room creation; see Options.AllowCreate.
	allowCreate func(user jid.JID) bool
	// archive keeps room archives; nil when Options.Archives is nil.
	archive *mam.RoomArchive
	// relay maps the ids of IQs passed to occupants to their requesters.
	relay *iqRelay
}

var _ c2s.Feature = (*Service)(nil)

// New returns a service; call Load to restore persistent rooms before the
// server starts.
func New(opts Options) (*Service, error) {
	if opts.Metrics == nil || opts.ServerDomain == "" {
		return nil, errors.New("muc: Options need ServerDomain and Metrics")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	d, err := jid.New("", opts.Config.domain(opts.ServerDomain), "")
	if err != nil {
		return nil, errors.New("muc.domain: not a valid domain")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var archive *mam.RoomArchive
	if opts.Archives != nil {
		archive, err = mam.NewRoomArchive(mam.RoomArchiveOptions{Archives: opts.Archives, Metrics: opts.Metrics,
			Log: log, Config: opts.ArchiveConfig, Now: now})
		if err != nil {
			return nil, fmt.Errorf("muc: %w", err)
		}
	}
	return &Service{
		archive:     archive,
		relay:       newIQRelay(),
		cfg:         opts.Config,
		domain:      d.Domainpart(),
		store:       opts.Store,
		allowCreate: opts.AllowCreate,
		log:         log.With("feature", "muc"),
		m:           m,
		now:         now,
		rooms:       newRegistry(),
		users:       newUserCounts(),
		slot:        c2s.NewSlot[*memberships](),
	}, nil
}

// Domain returns the domain the service serves.
func (svc *Service) Domain() string { return svc.domain }

// RoomCount returns how many rooms exist now, persistent and temporary.
func (svc *Service) RoomCount() int { return svc.rooms.count() }

// Register serves the service's domain and removes a session's occupants
// when it ends.
func (svc *Service) Register(r *c2s.Registry) error {
	r.HandleDomain(svc.domain, "Chatrooms", svc.handleDomain)
	r.OnClosed(svc.sessionClosed)
	return nil
}

// memberships are the rooms one session is in (room key → nick), so that
// its occupants leave when it ends.
type memberships struct {
	mu    sync.Mutex
	rooms map[string]string
}

func (m *memberships) set(room, nick string) {
	m.mu.Lock()
	if m.rooms == nil {
		m.rooms = map[string]string{}
	}
	m.rooms[room] = nick
	m.mu.Unlock()
}

func (m *memberships) remove(room string) {
	m.mu.Lock()
	delete(m.rooms, room)
	m.mu.Unlock()
}

func (m *memberships) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.rooms))
	for k := range m.rooms {
		out = append(out, k)
	}
	return out
}

// A client is the sender of a stanza as the service sees it.
type client struct {
	jid   jid.JID                                       // full JID
	res   c2s.Resource                                  // the sender's resource; nil if unknown
	route func(ctx context.Context, st *stanza.Element) // to JIDs outside the service; nil if none
	mem   *memberships
	// later holds stanzas for JIDs outside the room, routed once the room
	// lock is released (an invitation may go to another room).
	later []*stanza.Element
}

func (c *client) reply(svc *Service, st *stanza.Element) {
	if c.res != nil && c.res.Send(st) == nil {
		svc.m.deliveries.Inc()
		return
	}
	c.later = append(c.later, st)
}

// handleDomain is the c2s DomainHandler: it runs in the sending session's
// goroutine.
func (svc *Service) handleDomain(ctx context.Context, s *c2s.Session, st *stanza.Element) error {
	var from jid.JID
	if f := st.Get("from"); s != nil && f == s.JID().String() {
		from = s.JID() // stamped by c2s with the sender's own JID: parsed at bind
	} else {
		var err error
		if from, err = jid.Parse(f); err != nil {
			return nil
		}
	}
	c := &client{jid: from}
	if s != nil {
		c.res = s
		srv := s.Server()
		c.route = func(ctx context.Context, st *stanza.Element) { srv.Route(ctx, s, st) }
		mem, ok := svc.slot.Get(s)
		if !ok {
			mem = &memberships{}
			svc.slot.Set(s, mem)
		}
		c.mem = mem
	}
	return svc.handle(ctx, c, st)
}

// handle serves one stanza addressed to the service, a room or an
// occupant. A returned *c2s.StanzaError is sent back to the sender by the
// caller.
func (svc *Service) handle(ctx context.Context, c *client, st *stanza.Element) error {
	err := svc.dispatch(ctx, c, st)
	if c.route != nil {
		for _, o := range c.later {
			c.route(ctx, o)
		}
	}
	c.later = nil
	if err != nil {
		svc.m.refused.WithLabelValues(string(c2s.AsStanzaError(err).Condition)).Inc()
	}
	return err
}

func (svc *Service) dispatch(ctx context.Context, c *client, st *stanza.Element) error {
	to, err := jid.Parse(st.Get("to"))
	if err != nil {
		return c2s.JIDMalformed("")
	}
	typ := st.Get("type")
	switch st.Name.Local {
	case "presence":
		if to.Localpart() == "" {
			return nil // presence to the service itself means nothing
		}
		if typ == "error" {
			svc.leaveAll(ctx, c, to.Bare(), nil)
			return nil
		}
		return svc.handlePresence(ctx, c, st, to)
	case "message":
		if typ == "error" {
			return nil
		}
		if to.Localpart() == "" {
			return c2s.ServiceUnavailable("the service takes no messages")
		}
		return svc.handleMessage(ctx, c, st, to)
	case "iq":
		if typ == "result" || typ == "error" {
			if to.Resourcepart() != "" {
				svc.relayResponse(ctx, c, st, to)
			}
			return nil
		}
		if typ != "get" && typ != "set" {
			return nil
		}
		return svc.handleIQ(ctx, c, st, to)
	}
	return nil
}

// deliver queues st to occupant o. A resource that is gone is left to the
// session's OnClosed hook, which removes its occupants.
func (svc *Service) deliver(o *occupant, st *stanza.Element) {
	if o.res == nil {
		return
	}
	if o.res.Send(st) == nil {
		svc.m.deliveries.Inc()
	}
}

// lookup returns the room locked, or nil when it does not exist.
func (svc *Service) lookup(key string) *Room {
	for {
		rm := svc.rooms.get(key)
		if rm == nil {
			return nil
		}
		rm.mu.Lock()
		if !rm.gone {
			return rm
		}
		rm.mu.Unlock()
	}
}

// discard removes rm from the registry, and its archive, so that a later
// room of the same name starts with none; the caller holds rm.mu. The
// archive goes first, while the room still holds its name.
func (svc *Service) discard(rm *Room) {
	if rm.gone {
		return
	}
	if svc.archive != nil && !rm.fresh {
		if err := svc.archive.Clear(context.Background(), rm.jid); err != nil {
			svc.log.Error("removing a room's archive failed", "room", rm.key, "err", err)
		}
	}
	rm.gone = true
	if svc.rooms.remove(rm.key, rm) {
		svc.m.rooms.Dec()
	}
}

// discardIfEmpty removes a temporary room that nobody is in (XEP-0045
// §10.1.3's temporary rooms).
func (svc *Service) discardIfEmpty(rm *Room) {
	if len(rm.list) == 0 && (!rm.cfg.Persistent || rm.locked) {
		svc.discard(rm)
	}
}

// sessionClosed makes a session that ended leave its rooms.
func (svc *Service) sessionClosed(ctx context.Context, s *c2s.Session) {
	mem, ok := svc.slot.Get(s)
	if !ok {
		return
	}
	c := &client{jid: s.JID(), mem: mem}
	for _, key := range mem.keys() {
		rj, err := jid.Parse(key)
		if err != nil {
			continue
		}
		svc.leaveAll(ctx, c, rj, nil)
	}
	svc.slot.Delete(s)
}
