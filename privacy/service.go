package privacy

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
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/stanza"
)

// A Roster is what privacy lists read of rosters: the contacts' groups
// and subscriptions, and word of a change. *roster.Service implements it.
type Roster interface {
	Contacts(ctx context.Context, user string) ([]roster.Item, error)
	OnChange(f func(user string))
}

// Options are the collaborators of a Service.
type Options struct {
	// Store keeps the privacy documents (kind "privacy"); required.
	Store *crdtstore.Store
	// Roster answers group and subscription items; when nil they match
	// as for a contact not on the roster (subscription none, no group).
	Roster Roster
	// Metrics is where xmppd_privacy_… metrics are registered; required.
	Metrics prometheus.Registerer
	// Log receives errors worth an operator's attention.
	Log *slog.Logger
	// AllowIncremental, when set, says whether a user (a bare JID) may use
	// the incremental <add/>/<remove/> extension; refused requests get
	// <feature-not-implemented/>, as from a server without it, and the
	// standard whole-list set keeps working. cmd/xmppd wires the
	// privacy_incremental toggle here.
	AllowIncremental func(user jid.JID) bool
}

// A Service is the privacy feature: XEP-0016 lists with incremental
// updates, XEP-0191 blocking, and their enforcement through the c2s
// filters. It is safe for concurrent use.
type Service struct {
	store  *crdtstore.Store
	roster Roster
	log    *slog.Logger
	m      *privacyMetrics

	slot   c2s.Slot[*sessState]
	others sync.Map // c2s.Resource → *sessState, for resources that are not local sessions
	byJID  sync.Map // full JID → *sessState, until the session's OnClosed
	users  sync.Map // bare JID → *userState
	cached atomic.Int64
	// allowIncremental gates the extension; see Options.AllowIncremental.
	allowIncremental func(user jid.JID) bool
	pushSeq          atomic.Uint64
}

var _ c2s.Feature = (*Service)(nil)

// maxIdleUsers bounds the users without a session whose default list is
// cached for offline delivery; past it those entries are dropped.
const maxIdleUsers = 10_000

// New returns a privacy Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Metrics == nil {
		return nil, errors.New("privacy: Options need Store and Metrics")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("privacy: metrics: %w", err)
	}
	s := &Service{store: opts.Store, roster: opts.Roster, log: log.With("feature", "privacy"), m: m, slot: c2s.NewSlot[*sessState](),
		allowIncremental: opts.AllowIncremental}
	if s.roster != nil {
		s.roster.OnChange(s.rosterChanged)
	}
	return s, nil
}

// Register declares the privacy handlers and filters.
func (s *Service) Register(r *c2s.Registry) error {
	r.HandleIQ(nsPrivacy, c2s.ToSelf, s.handlePrivacyIQ)
	r.HandleIQ(nsBlocking, c2s.ToSelf, s.handleBlockingIQ)
	forbidden := func(context.Context, *c2s.IQ) (*stanza.Element, error) {
		return nil, c2s.Forbidden("privacy lists belong to their own account")
	}
	r.HandleIQ(nsPrivacy, c2s.ToContact, forbidden)
	r.HandleIQ(nsBlocking, c2s.ToContact, forbidden)
	r.ServerFeature(nsPrivacy, FeatureIncremental, nsBlocking)
	r.AccountFeature(nsPrivacy, FeatureIncremental, nsBlocking)
	r.OnBound(func(ctx context.Context, sess *c2s.Session) { s.bind(ctx, sess) })
	r.OnClosed(func(_ context.Context, sess *c2s.Session) { s.unbind(sess) })
	r.FilterOutbound(s.filterOutbound)
	r.FilterInbound(s.filterInbound)
	return nil
}

// A userState is what the service keeps per user: the compiled default
// list and roster view the routing path reads without storage access, and
// the user's bound sessions.
type userState struct {
	bare string

	// mu serialises this user's privacy changes on this node (so the
	// compiled lists always reflect the last write) and guards the
	// fields below it.
	mu       sync.Mutex
	loaded   bool
	defName  string
	sessions map[*sessState]struct{}

	def    atomic.Pointer[compiled]   // nil: no default list
	roster atomic.Pointer[rosterView] // nil: not loaded (or changed)
}

// A sessState is one session's privacy state (kept in a c2s.Slot).
type sessState struct {
	user      *userState
	res       c2s.Resource
	active    atomic.Pointer[compiled] // nil: the default applies
	blocklist atomic.Bool              // asked for the blocklist (XEP-0191 pushes)
}

// effective returns the list that applies to the session, or nil.
func (st *sessState) effective() *compiled {
	if l := st.active.Load(); l != nil {
		return l
	}
	return st.user.def.Load()
}

// stateOf returns r's state, or nil for a resource the service never saw
// bound (a remote one).
func (s *Service) stateOf(r c2s.Resource) *sessState {
	if sess, ok := r.(*c2s.Session); ok {
		st, _ := s.slot.Get(sess)
		return st
	}
	if v, ok := s.others.Load(r); ok {
		return v.(*sessState)
	}
	return nil
}

// bind loads the user's lists (one storage read, unless another session
// of the user is bound) and registers r.
func (s *Service) bind(ctx context.Context, r c2s.Resource) {
	bare := r.JID().Bare().String()
	u := s.userEntry(bare)
	st := &sessState{user: u, res: r}
	u.mu.Lock()
	if u.sessions == nil {
		u.sessions = map[*sessState]struct{}{}
	}
	u.sessions[st] = struct{}{}
	err := s.loadLocked(ctx, u, "bind")
	u.mu.Unlock()
	if err != nil {
		s.log.Error("privacy lists unavailable at login; none applied until the next change", "jid", r.JID().String(), "err", err)
	}
	if sess, ok := r.(*c2s.Session); ok {
		s.slot.Set(sess, st)
	} else {
		s.others.Store(r, st)
	}
	s.byJID.Store(r.JID().String(), st)
}

// unbind forgets r.
func (s *Service) unbind(r c2s.Resource) {
	st := s.stateOf(r)
	if st == nil {
		return
	}
	st.user.mu.Lock()
	delete(st.user.sessions, st)
	st.user.mu.Unlock()
	s.byJID.CompareAndDelete(r.JID().String(), st)
	s.others.Delete(r)
}

// userEntry returns the cached state of bare, creating an unloaded one.
func (s *Service) userEntry(bare string) *userState {
	if v, ok := s.users.Load(bare); ok {
		return v.(*userState)
	}
	v, loaded := s.users.LoadOrStore(bare, &userState{bare: bare})
	if !loaded && s.cached.Add(1) > maxIdleUsers {
		s.evictIdle()
	}
	return v.(*userState)
}

// evictIdle drops the cached users that have no session.
func (s *Service) evictIdle() {
	s.users.Range(func(k, v any) bool {
		u := v.(*userState)
		u.mu.Lock()
		idle := len(u.sessions) == 0
		u.mu.Unlock()
		if idle && s.users.CompareAndDelete(k, u) {
			s.cached.Add(-1)
		}
		return true
	})
}

// loadLocked reads u's document once and compiles its default list.
// u.mu is held.
func (s *Service) loadLocked(ctx context.Context, u *userState, reason string) error {
	if u.loaded {
		return nil
	}
	s.m.loads.WithLabelValues(reason).Inc()
	doc, err := s.store.Load(ctx, u.bare)
	if err != nil {
		s.m.storeErrors.Inc()
		return fmt.Errorf("privacy: %w", err)
	}
	u.defName = defaultList(doc)
	if u.defName != "" {
		u.def.Store(compile(u.defName, readList(doc, u.defName)))
	}
	u.loaded = true
	return nil
}

// update runs one read-merge-write of u's document with u.mu held.
func (s *Service) update(ctx context.Context, u *userState, apply func(doc *crdt.Doc, w *crdt.Writer) error) (*crdt.Doc, error) {
	return s.stored(s.store.Update(ctx, u.bare, apply))
}

// appendOps makes a small change of u's document with u.mu held: apply
// runs on the store's cached copy and only its operations are written
// (crdtstore.Append), so the cost is the change's, not the document's.
// apply must read what it needs of doc before returning; the result is
// the delta written.
func (s *Service) appendOps(ctx context.Context, u *userState, apply func(doc *crdt.Doc, w *crdt.Writer) error) (*crdt.Doc, error) {
	return s.stored(s.store.Append(ctx, u.bare, apply))
}

// stored passes on the outcome of a store write, counting and wrapping
// storage errors; stanza errors from the caller's apply pass as they are.
func (s *Service) stored(doc *crdt.Doc, err error) (*crdt.Doc, error) {
	if err != nil {
		var se *c2s.StanzaError
		if !errors.As(err, &se) {
			s.m.storeErrors.Inc()
			err = fmt.Errorf("privacy: %w", err)
		}
		return nil, err
	}
	return doc, nil
}

// rosterChanged drops the cached roster view of user: the next stanza a
// group or subscription item judges reads it again (XEP-0016 rule 9).
func (s *Service) rosterChanged(user string) {
	if v, ok := s.users.Load(user); ok {
		v.(*userState).roster.Store(nil)
	}
}

// rosterOf returns the contact lookup of u for lists that need it.
func (s *Service) rosterOf(u *userState) func(bare string) Contact {
	return func(bare string) Contact {
		v := u.roster.Load()
		if v == nil {
			v = s.loadRoster(u)
		}
		return v.contact(bare)
	}
}

// loadRoster reads u's roster into a view (one storage read; an error
// leaves every contact unknown until the next attempt).
func (s *Service) loadRoster(u *userState) *rosterView {
	view := rosterView{}
	if s.roster == nil {
		u.roster.Store(&view)
		return &view
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	items, err := s.roster.Contacts(ctx, u.bare)
	if err != nil {
		s.log.Error("privacy: roster unavailable; contacts treated as unknown", "user", u.bare, "err", err)
		return &view
	}
	for _, it := range items {
		c := Contact{Subscription: it.State.Subscription()}
		if it.Listed {
			c.Groups = it.Groups
		}
		view[it.JID] = c
	}
	u.roster.Store(&view)
	return &view
}

// sessionsOf returns u's bound sessions. u.mu is held.
func (u *userState) sessionList() []*sessState {
	out := make([]*sessState, 0, len(u.sessions))
	for st := range u.sessions {
		out = append(out, st)
	}
	return out
}

// pushID returns a fresh id for a push.
func (s *Service) pushID() string { return fmt.Sprintf("privacy-push-%d", s.pushSeq.Add(1)) }
