package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/storage"
)

// Kind is the storage.Key kind of the offline queues.
const Kind = "offline"

// Feature is the XEP-0160 disco#info feature of the server.
const Feature = "msgoffline"

// DefaultMaxMessages is the per-user queue limit when Config leaves it 0.
const DefaultMaxMessages = 1000

// Config is the [offline] section. The zero value means the defaults.
type Config struct {
	// MaxMessages is how many messages one user's queue holds (default
	// 1000); a message beyond it is answered with <resource-constraint/>.
	MaxMessages int `toml:"max_messages"`
}

// Validate rejects nonsense; it fills nothing in.
func (c Config) Validate() error {
	if c.MaxMessages < 0 {
		return fmt.Errorf("offline.max_messages must not be negative, got %d", c.MaxMessages)
	}
	return nil
}

func (c Config) maxMessages() int {
	if c.MaxMessages == 0 {
		return DefaultMaxMessages
	}
	return c.MaxMessages
}

// Options are what New needs.
type Options struct {
	// Queues holds the per-user queues; required.
	Queues storage.Queues
	// Domain is the served domain: the 'from' of the delay stamps; required.
	Domain string
	// Metrics is where xmppd_offline_… metrics are registered; required.
	Metrics prometheus.Registerer
	// Log receives errors worth an operator's attention.
	Log    *slog.Logger
	Config Config
	// Now returns the current time (time.Now when nil); tests set it.
	Now func() time.Time
	// Allow, when set, says whether messages to the user (a bare JID)
	// may be stored: the offline_storage toggle. A message it refuses
	// bounces with service-unavailable, as RFC 6121 §8.5.2.1.1 asks of a
	// server that does not store. Nil stores for everyone.
	Allow func(user jid.JID) bool
}

// A Service is the offline-message feature: register it with the c2s
// server. It is safe for concurrent use; its hooks run in the goroutines
// of the sessions whose stanzas trigger them.
type Service struct {
	q      storage.Queues
	domain string
	limit  int
	log    *slog.Logger
	m      *offlineMetrics
	now    func() time.Time
	allow  func(user jid.JID) bool // nil: everyone
	locks  userLocks
	// dir is the server's session directory, learned from the first
	// session that becomes available (features are built before the
	// server); nil until then, and then no one can be available.
	dir atomic.Pointer[c2s.Directory]
	// deliverable marks sessions that have had their offline messages:
	// true while available with a non-negative priority.
	deliverable c2s.Slot[bool]
}

var _ c2s.Feature = (*Service)(nil)

// New returns the feature.
func New(opts Options) (*Service, error) {
	if opts.Queues == nil || opts.Metrics == nil || opts.Domain == "" {
		return nil, errors.New("offline: Options need Queues, Domain and Metrics")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("offline: metrics: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{
		q:           opts.Queues,
		domain:      opts.Domain,
		limit:       opts.Config.maxMessages(),
		log:         log.With("feature", "offline"),
		m:           m,
		now:         now,
		allow:       opts.Allow,
		deliverable: c2s.NewSlot[bool](),
	}
	s.locks.init()
	return s, nil
}

// Register declares the feature's hooks (XEP-0160).
func (s *Service) Register(r *c2s.Registry) error {
	r.ServerFeature(Feature)
	r.OnUndeliverable(s.store)
	r.OnAvailable(s.onAvailable)
	r.OnPresence(s.onPresence)
	return nil
}

// Clear removes every stored message of bare (a normalised bare JID), for
// account deletion.
func (s *Service) Clear(ctx context.Context, bare string) error {
	return ClearQueue(ctx, s.q, bare)
}

// ClearQueue removes every stored offline message of bare from q. It is
// what Service.Clear does, for tools (account deletion from the CLI) that
// have the storage but no running feature.
func ClearQueue(ctx context.Context, q storage.Queues, bare string) error {
	if err := q.Clear(ctx, key(bare)); err != nil {
		return fmt.Errorf("offline: clear %s: %w", bare, err)
	}
	return nil
}

func key(bare string) storage.Key { return storage.Key{Kind: Kind, User: bare} }
