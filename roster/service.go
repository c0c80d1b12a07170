package roster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/stanza"
)

// Namespaces and features.
const (
	nsRoster      = "jabber:iq:roster"
	nsRosterVer   = "urn:xmpp:features:rosterver"    // XEP-0237 stream feature
	nsPreApproval = "urn:xmpp:features:pre-approval" // RFC 6121 §3.4
	// FeatureNotes is the disco feature of roster notes (DESIGN.md).
	FeatureNotes = "urn:xmppd:roster-notes:0"
	// Kind is the storage kind of roster documents.
	Kind = "roster"
)

// MaxNoteBytes is the limit on a note's UTF-8 length (DESIGN.md).
const MaxNoteBytes = 1024

// A NoteSealer encrypts roster notes at rest, bound to the owner and the
// contact (bare JIDs) so that a sealed note cannot be moved to another
// item. notes.Keyring implements it. Open returns an error for anything
// that does not verify; the roster then leaves the note out.
type NoteSealer interface {
	Seal(owner, contact string, plaintext []byte) ([]byte, error)
	Open(owner, contact string, sealed []byte) ([]byte, error)
}

// Config holds the roster's limits. The zero value means the defaults.
type Config struct {
	// MaxItems is the most contacts a roster may list (default 2000);
	// adding one more is refused with resource-constraint.
	MaxItems int
	// MaxNameLength is the longest item name in bytes (default 1024);
	// longer is not-acceptable (RFC 6121 §2.3.3).
	MaxNameLength int
	// MaxGroupLength is the longest group name in bytes (default 1024).
	MaxGroupLength int
	// MaxGroups is the most groups one item may be in (default 64).
	MaxGroups int
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.MaxItems < 0 || c.MaxNameLength < 0 || c.MaxGroupLength < 0 || c.MaxGroups < 0 {
		return errors.New("roster: negative limit in config")
	}
	return nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func (c Config) maxItems() int       { return orDefault(c.MaxItems, 2000) }
func (c Config) maxNameLength() int  { return orDefault(c.MaxNameLength, 1024) }
func (c Config) maxGroupLength() int { return orDefault(c.MaxGroupLength, 1024) }
func (c Config) maxGroups() int      { return orDefault(c.MaxGroups, 64) }

// Options are the collaborators of a Service.
type Options struct {
	// Store keeps the roster documents (kind "roster"); required.
	Store *crdtstore.Store
	// Notes seals roster notes; when nil, notes are not offered and a set
	// carrying one is refused with feature-not-implemented.
	Notes NoteSealer
	// Metrics is where xmppd_roster_… metrics are registered; required.
	Metrics prometheus.Registerer
	// Log receives errors worth an operator's attention.
	Log    *slog.Logger
	Config Config
}

// A Service is the roster feature: register it with the c2s server. It is
// safe for concurrent use; every handler runs in the goroutine of the
// session whose stanza it handles.
type Service struct {
	store *crdtstore.Store
	notes NoteSealer
	cfg   Config
	log   *slog.Logger
	m     *rosterMetrics
	now   func() time.Time

	sessions sync.Map // c2s.Resource → *sessionState
	onChange []func(user string)
}

var _ c2s.Feature = (*Service)(nil)

// New returns a roster Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Metrics == nil {
		return nil, errors.New("roster: Options need Store and Metrics")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("roster: metrics: %w", err)
	}
	return &Service{store: opts.Store, notes: opts.Notes, cfg: opts.Config, log: log.With("feature", "roster"), m: m, now: time.Now}, nil
}

// Register declares the roster's handlers (RFC 6121 §2–4, XEP-0237).
func (s *Service) Register(r *c2s.Registry) error {
	r.HandleIQ(nsRoster, c2s.ToSelf, s.handleIQ)
	r.HandleIQ(nsRoster, c2s.ToContact, func(context.Context, *c2s.IQ) (*stanza.Element, error) {
		return nil, c2s.Forbidden("a roster belongs to its own account")
	})
	r.StreamFeature(func(*c2s.Session) *stanza.Element { return stanza.New(nsRosterVer, "ver") })
	r.StreamFeature(func(*c2s.Session) *stanza.Element { return stanza.New(nsPreApproval, "sub") })
	r.OnPresence(s.handlePresence)
	r.OnAvailable(s.handleAvailable)
	r.OnClosed(func(_ context.Context, sess *c2s.Session) { s.sessions.Delete(c2s.Resource(sess)) })
	if s.notes != nil {
		r.ServerFeature(FeatureNotes)
		r.AccountFeature(FeatureNotes)
	}
	return nil
}

// A sessionState is what the roster keeps per session.
type sessionState struct {
	interested atomic.Bool // sent a roster get (RFC 6121 §2.1.6)
	versioned  atomic.Bool // that get carried 'ver' (XEP-0237)
	contacts   atomic.Pointer[contacts]

	mu       sync.Mutex
	directed map[string]struct{} // recipients of directed available presence (§4.6)
}

func (s *Service) state(r c2s.Resource) *sessionState {
	if st, ok := s.sessions.Load(r); ok {
		return st.(*sessionState)
	}
	st, _ := s.sessions.LoadOrStore(r, &sessionState{})
	return st.(*sessionState)
}

// contacts is the part of a roster that presence needs, cached per
// session so that presence changes cost no storage read. It is rebuilt
// whenever this server changes the roster, and loaded (one read) when a
// session first needs it.
type contacts struct {
	from      []string // bare JIDs that receive the owner's presence
	to        []string // bare JIDs whose presence the owner receives
	pendingIn []pending
}

type pending struct{ jid, status string }

func contactsOf(doc *crdt.Doc) *contacts {
	c := &contacts{}
	for _, key := range doc.Keys() {
		if len(key) >= len(tombPrefix) && key[:len(tombPrefix)] == tombPrefix {
			continue
		}
		it, _ := readItem(doc, key)
		if it.State.From {
			c.from = append(c.from, key)
		}
		if it.State.To {
			c.to = append(c.to, key)
		}
		if it.State.PendingIn {
			c.pendingIn = append(c.pendingIn, pending{jid: key, status: it.PendingStatus})
		}
	}
	return c
}

func (c *contacts) hasFrom(bare string) bool { return contains(c.from, bare) }
func (c *contacts) hasTo(bare string) bool   { return contains(c.to, bare) }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// An env is how a handler reaches other sessions: the directory for local
// users, and the server's router for everything else.
type env struct {
	dir    c2s.Directory
	domain string
	route  func(ctx context.Context, st *stanza.Element)
}

func envFor(sess *c2s.Session) env {
	srv := sess.Server()
	return env{
		dir:    srv.Directory(),
		domain: srv.Domain().String(),
		route:  func(ctx context.Context, st *stanza.Element) { srv.Route(ctx, sess, st) },
	}
}

func (e env) local(bare string) bool {
	j, err := jid.Parse(bare)
	return err == nil && j.Domainpart() == e.domain && j.Localpart() != ""
}

// errNoChange ends an update that has nothing to write.
var errNoChange = errors.New("roster: no change")

// load reads user's roster document.
func (s *Service) load(ctx context.Context, user, reason string) (*crdt.Doc, error) {
	s.m.loads.WithLabelValues(reason).Inc()
	doc, err := s.store.Load(ctx, user)
	if err != nil {
		s.m.storeErrors.Inc()
		return nil, fmt.Errorf("roster: %w", err)
	}
	return doc, nil
}

// update runs one read-merge-write of user's roster. apply returning
// errNoChange writes nothing and update returns a nil doc and no error.
func (s *Service) update(ctx context.Context, user string, apply func(doc *crdt.Doc, w *crdt.Writer) error) (*crdt.Doc, error) {
	s.m.loads.WithLabelValues("update").Inc()
	doc, err := s.store.Update(ctx, user, apply)
	switch {
	case errors.Is(err, errNoChange):
		return nil, nil
	case err != nil:
		var se *c2s.StanzaError
		if !errors.As(err, &se) {
			s.m.storeErrors.Inc()
			err = fmt.Errorf("roster: %w", err)
		}
		return nil, err
	}
	s.m.updates.Inc()
	return doc, nil
}

// OnChange registers f to run, in the goroutine that made the change,
// after this server changed user's stored roster (a normalised bare JID):
// features that cache what they read with Contacts (privacy lists match
// on groups and subscriptions) drop their copy. f must be cheap and must
// not call back into the roster. Call OnChange before the server starts.
func (s *Service) OnChange(f func(user string)) { s.onChange = append(s.onChange, f) }

// changed tells user's local sessions about a new roster: their presence
// caches are rebuilt from doc and the interested ones get a push of each
// item in items (removed items as subscription='remove').
func (s *Service) changed(e env, user string, doc *crdt.Doc, items ...change) {
	for _, f := range s.onChange {
		f(user)
	}
	c := contactsOf(doc)
	ver := version(doc)
	for _, r := range e.dir.Resources(user) {
		st := s.state(r)
		st.contacts.Store(c)
		if !st.interested.Load() {
			continue
		}
		for _, ch := range items {
			v := ""
			if st.versioned.Load() {
				v = ver
			}
			r.Send(s.pushIQ(user, ch, v))
			s.m.pushes.Inc()
		}
	}
}

// pushIQ returns a roster push of ch (RFC 6121 §2.1.6).
func (s *Service) pushIQ(owner string, ch change, ver string) *stanza.Element {
	q := stanza.New(nsRoster, "query", "ver", ver)
	if ch.Removed {
		q.Append(removedElement(ch.JID))
	} else {
		q.Append(ch.element(s.openNote(owner, &ch.Item)))
	}
	return stanza.New(stanza.NSClient, "iq", "type", "set", "id", pushID()).Append(q)
}

var pushSeq atomic.Uint64

func pushID() string { return fmt.Sprintf("push%d", pushSeq.Add(1)) }

// openNote returns the plaintext of it's note, or nil when there is none
// or it does not verify (logged and counted: never sent as garbage).
func (s *Service) openNote(owner string, it *Item) []byte {
	if len(it.Note) == 0 || s.notes == nil {
		return nil
	}
	pt, err := s.notes.Open(owner, it.JID, it.Note)
	if err != nil {
		s.m.noteErrors.Inc()
		s.log.Error("roster note does not open; leaving it out", "owner", owner, "contact", it.JID, "err", err)
		return nil
	}
	return pt
}
