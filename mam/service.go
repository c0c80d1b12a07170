package mam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// Namespaces.
const (
	NS         = "urn:xmpp:mam:2"
	NSExtended = "urn:xmpp:mam:2#extended"
	NSSID      = "urn:xmpp:sid:0"
	nsRSM      = "http://jabber.org/protocol/rsm"
	nsForward  = "urn:xmpp:forward:0"
	nsDelay    = "urn:xmpp:delay"
	nsData     = "jabber:x:data"
	nsHints    = "urn:xmpp:hints"
)

// Storage kinds.
const (
	Kind      = "mam"       // archives: {Kind, bare JID}
	PrefsKind = "mam-prefs" // preferences in KV
)

// Config holds the archive's settings. The zero value means the defaults.
type Config struct {
	// Retention is how long entries are kept ("720h"); 0 keeps them for
	// ever.
	Retention c2s.Duration `toml:"retention"`
	// Default is the archiving default of users without preferences:
	// "always" (default), "never" or "roster".
	Default string `toml:"default"`
	// DefaultPage is the page size of a query without <max/> (default 50).
	DefaultPage int `toml:"default_page"`
	// MaxPage caps <max/> (default 250).
	MaxPage int `toml:"max_page"`
	// CountLimit: <count/> and <first index/> are reported when a query
	// matches at most this many entries (default 1000; negative never).
	CountLimit int `toml:"count_limit"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.Retention < 0 {
		return errors.New("mam: negative retention")
	}
	switch c.Default {
	case "", "always", "never", "roster":
	default:
		return fmt.Errorf("mam: default %q is not always, never or roster", c.Default)
	}
	if c.DefaultPage < 0 || c.MaxPage < 0 {
		return errors.New("mam: negative page size")
	}
	if c.DefaultPage > 0 && c.MaxPage > 0 && c.DefaultPage > c.MaxPage {
		return errors.New("mam: default_page exceeds max_page")
	}
	return nil
}

func (c Config) retention() time.Duration { return time.Duration(c.Retention) }

func (c Config) defaultMode() string {
	if c.Default == "" {
		return "always"
	}
	return c.Default
}

func (c Config) maxPage() int {
	if c.MaxPage == 0 {
		return 250
	}
	return c.MaxPage
}

func (c Config) defaultPage() int {
	if c.DefaultPage == 0 {
		return min(50, c.maxPage())
	}
	return c.DefaultPage
}

func (c Config) countLimit() int {
	if c.CountLimit == 0 {
		return 1000
	}
	return c.CountLimit
}

// InRosterFunc reports whether contact (a bare JID) is on owner's roster.
type InRosterFunc func(ctx context.Context, owner, contact string) (bool, error)

// Options are the collaborators of a Service.
type Options struct {
	// Archives keeps the archives (required).
	Archives storage.Archives
	// KV keeps the preferences (required).
	KV storage.KV
	// InRoster answers "roster" preferences; without it, "roster" archives
	// nothing that is not in the always list.
	InRoster InRosterFunc
	// Metrics is where xmppd_mam_… metrics are registered (required).
	Metrics prometheus.Registerer
	Log     *slog.Logger
	Config  Config
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// A Service is the message archive feature. It is safe for concurrent use;
// hooks and handlers run in the goroutines of the sessions involved.
type Service struct {
	arch     storage.Archives
	kv       storage.KV
	inRoster InRosterFunc
	cfg      Config
	log      *slog.Logger
	m        *mamMetrics
	now      func() time.Time

	pruned     sync.Map // bare JID → time.Time of the last DeleteBefore
	prefsCache *prefsCache
}

var _ c2s.Feature = (*Service)(nil)

// New returns a message archive Service.
func New(opts Options) (*Service, error) {
	if opts.Archives == nil || opts.KV == nil || opts.Metrics == nil {
		return nil, errors.New("mam: Options need Archives, KV and Metrics")
	}
	return build(opts, "xmppd_mam_", "mam")
}

// build returns a Service with metrics named prefix… and log lines
// tagged feature.
func build(opts Options, prefix, feature string) (*Service, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetricsNamed(opts.Metrics, prefix)
	if err != nil {
		return nil, fmt.Errorf("mam: metrics: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{arch: opts.Archives, kv: opts.KV, inRoster: opts.InRoster, cfg: opts.Config,
		log: log.With("feature", feature), m: m, now: now, prefsCache: newPrefsCache()}, nil
}

// Register declares the archive's hooks and handlers (XEP-0313, XEP-0359).
func (s *Service) Register(r *c2s.Registry) error {
	r.OnMessageSent(s.onSent)
	r.OnMessageIn(s.onIn)
	r.OnAccountRemoved(func(_ context.Context, bare string) { s.prefsCache.forget(bare) })
	r.HandleIQ(NS, c2s.ToSelf, s.handleIQ)
	r.HandleIQ(NS, c2s.ToContact, func(context.Context, *c2s.IQ) (*stanza.Element, error) {
		return nil, c2s.Forbidden("an archive belongs to its own account")
	})
	r.AccountFeature(NS, NSExtended, NSSID)
	return nil
}

func (s *Service) key(bare string) storage.Key { return storage.Key{Kind: Kind, User: bare} }
