// Package lastactivity answers XEP-0012 Last Activity queries: the
// server's uptime, and when a contact was last online.
//
//   - To the server's domain: <query xmlns='jabber:iq:last' seconds='N'/>,
//     N the seconds since the server started (§5).
//   - To a user's bare JID (§4): answered by the server on the user's
//     behalf, and only to someone the user lets see their presence — the
//     user's roster has them with subscription from or both — others get
//     <forbidden/>. While the user has an available resource the answer is
//     0 seconds; otherwise the seconds since the user's last resource went
//     unavailable, with the status text of that unavailable presence.
//     A user never seen offline since this was deployed is
//     <item-not-found/>.
//   - To the user's own account (no 'to', or the sender's bare JID): the
//     same answer, without the roster check — a user may always see their
//     own last activity. jabber:iq:last is advertised on accounts, and the
//     owner is among those who ask.
//
// The record is written when a user's last available resource goes
// unavailable — an explicit unavailable presence, or the session ending
// (the core then runs the presence hooks with a synthesized unavailable)
// — as a small JSON value in storage.KV under {Kind: "last"}.
//
// Queries to a full JID (idle time of one client, §3) go to that client
// unchanged; the server does not answer for it.
package lastactivity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// NS is the XEP-0012 namespace; Kind the storage kind of the records.
const (
	NS   = "jabber:iq:last"
	Kind = "last"
)

// SubscribedFunc reports whether requester (a bare JID) receives owner's
// presence: owner's roster has requester with subscription from or both.
type SubscribedFunc func(ctx context.Context, owner, requester string) (bool, error)

// Options are the collaborators of a Service.
type Options struct {
	KV storage.KV // required
	// Subscribed authorises contact queries (required).
	Subscribed SubscribedFunc
	// Started is when the server started (uptime); zero means New's time.
	Started time.Time
	Metrics prometheus.Registerer // required
	Log     *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// A Service answers last activity queries and records logouts. It is safe
// for concurrent use.
type Service struct {
	kv         storage.KV
	subscribed SubscribedFunc
	started    time.Time
	now        func() time.Time
	log        *slog.Logger
	queries    *prometheus.CounterVec
	errors     prometheus.Counter
}

var _ c2s.Feature = (*Service)(nil)

// A record is what is stored at logout.
type record struct {
	Unix   int64  `json:"t"`
	Status string `json:"status,omitempty"`
}

// New returns a last activity Service.
func New(opts Options) (*Service, error) {
	if opts.KV == nil || opts.Subscribed == nil || opts.Metrics == nil {
		return nil, errors.New("lastactivity: Options need KV, Subscribed and Metrics")
	}
	s := &Service{kv: opts.KV, subscribed: opts.Subscribed, started: opts.Started, now: opts.Now, log: opts.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.started.IsZero() {
		s.started = s.now()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("feature", "lastactivity")
	s.queries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xmppd_lastactivity_queries_total", Help: "Last activity queries answered, by target and outcome."}, []string{"target", "outcome"})
	s.errors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xmppd_lastactivity_storage_errors_total", Help: "Storage failures reading or writing last activity."})
	for _, c := range []prometheus.Collector{s.queries, s.errors} {
		if err := opts.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("lastactivity: metrics: %w", err)
		}
	}
	return s, nil
}

// Register declares the handlers and the logout hook.
func (s *Service) Register(r *c2s.Registry) error {
	r.HandleIQ(NS, c2s.ToServer, s.uptime)
	r.HandleIQ(NS, c2s.ToContact, func(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
		return s.contact(ctx, iq, iq.Session.Server().Directory())
	})
	r.HandleIQ(NS, c2s.ToSelf, func(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
		return s.self(ctx, iq, iq.Session.Server().Directory())
	})
	r.OnPresence(s.onPresence)
	r.ServerFeature(NS)
	r.AccountFeature(NS)
	return nil
}

func query(seconds int64, status string) *stanza.Element {
	q := stanza.New(NS, "query", "seconds", strconv.FormatInt(max(seconds, 0), 10))
	if status != "" {
		q.SetText(status)
	}
	return q
}

func (s *Service) uptime(_ context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	if iq.Type != "get" {
		s.queries.WithLabelValues("server", "bad_request").Inc()
		return nil, c2s.BadRequest("last activity is a get")
	}
	s.queries.WithLabelValues("server", "ok").Inc()
	return query(int64(s.now().Sub(s.started)/time.Second), ""), nil
}

// contact answers for a local user (§4).
func (s *Service) contact(ctx context.Context, iq *c2s.IQ, dir c2s.Directory) (*stanza.Element, error) {
	res, outcome, err := s.contactAnswer(ctx, iq, iq.To.Bare().String(), true, dir)
	s.queries.WithLabelValues("contact", outcome).Inc()
	return res, err
}

// self answers a user about their own account.
func (s *Service) self(ctx context.Context, iq *c2s.IQ, dir c2s.Directory) (*stanza.Element, error) {
	res, outcome, err := s.contactAnswer(ctx, iq, iq.From.Bare().String(), false, dir)
	s.queries.WithLabelValues("self", outcome).Inc()
	return res, err
}

// contactAnswer answers for owner's account; checkRoster requires the
// sender to be subscribed to owner's presence.
func (s *Service) contactAnswer(ctx context.Context, iq *c2s.IQ, owner string, checkRoster bool, dir c2s.Directory) (*stanza.Element, string, error) {
	if iq.Type != "get" {
		return nil, "bad_request", c2s.BadRequest("last activity is a get")
	}
	if checkRoster {
		ok, err := s.subscribed(ctx, owner, iq.From.Bare().String())
		if err != nil {
			return nil, "error", fmt.Errorf("lastactivity: roster of %s: %w", owner, err)
		}
		if !ok {
			return nil, "forbidden", c2s.Forbidden("not subscribed to this user's presence")
		}
	}
	for _, r := range dir.Resources(owner) {
		if avail, _ := r.Available(); avail {
			return query(0, ""), "online", nil
		}
	}
	b, err := s.kv.Get(ctx, storage.Key{Kind: Kind, User: owner})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, "unknown", c2s.ItemNotFound("no recorded activity")
	}
	if err != nil {
		s.errors.Inc()
		return nil, "error", fmt.Errorf("lastactivity: load %s: %w", owner, err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, "error", fmt.Errorf("lastactivity: record of %s: %w", owner, err)
	}
	return query(s.now().Unix()-rec.Unix, rec.Status), "offline", nil
}

// onPresence records the logout of a user's last available resource.
func (s *Service) onPresence(ctx context.Context, sess *c2s.Session, p *stanza.Element) (bool, error) {
	if p.Get("to") != "" || p.Get("type") != "unavailable" {
		return false, nil
	}
	s.loggedOut(ctx, sess.Server().Directory(), sess.JID().Bare().String(), p.ChildText(stanza.NSClient, "status"))
	return false, nil
}

// loggedOut stores the time and status when user has no available
// resource left.
func (s *Service) loggedOut(ctx context.Context, dir c2s.Directory, user, status string) {
	for _, r := range dir.Resources(user) {
		if avail, _ := r.Available(); avail {
			return
		}
	}
	b, _ := json.Marshal(record{Unix: s.now().Unix(), Status: status})
	if err := s.kv.Put(ctx, storage.Key{Kind: Kind, User: user}, b); err != nil {
		s.errors.Inc()
		s.log.Error("recording last activity failed", "jid", user, "err", err)
	}
}
