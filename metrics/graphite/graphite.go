// Package graphite pushes xmppd's Prometheus registry to Graphite (the
// Carbon plaintext protocol over TCP) with client_golang's graphite bridge,
// so that a site that runs Graphite rather than Prometheus sees the same
// metrics: each sample becomes <prefix>.<metric name>.<label values…>,
// sent every Interval.
//
// A push that fails (Carbon down, slow) is logged and counted in
// xmppd_graphite_push_errors_total and retried at the next interval; it
// never blocks the server.
package graphite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bridge "github.com/prometheus/client_golang/prometheus/graphite"
)

// Duration is a time.Duration that decodes from strings such as "15s".
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Config is the [metrics.graphite] section. An empty Address disables the
// push.
type Config struct {
	// Address is Carbon's plaintext listener, host:port (usually :2003).
	Address string `toml:"address"`
	// Prefix starts every metric path (default "xmppd"); use it to tell
	// nodes apart, e.g. "xmppd.node1".
	Prefix string `toml:"prefix"`
	// Interval between pushes (default 15s, at least 1s).
	Interval Duration `toml:"interval"`
}

// Defaults.
const (
	DefaultPrefix   = "xmppd"
	DefaultInterval = 15 * time.Second
)

var validPrefix = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Validate reports settings that cannot work, naming their keys.
func (c Config) Validate() error {
	var errs []error
	if c.Address != "" {
		if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("metrics.graphite.address: %q is not host:port", c.Address))
		}
	}
	if c.Prefix != "" && !validPrefix.MatchString(c.Prefix) {
		errs = append(errs, fmt.Errorf("metrics.graphite.prefix: %q must be dot-separated words of letters, digits, '_' and '-'", c.Prefix))
	}
	if c.Interval != 0 && time.Duration(c.Interval) < time.Second {
		errs = append(errs, fmt.Errorf("metrics.graphite.interval: %s must be at least 1s", time.Duration(c.Interval)))
	}
	return errors.Join(errs...)
}

func (c Config) prefix() string {
	if c.Prefix == "" {
		return DefaultPrefix
	}
	return c.Prefix
}

func (c Config) interval() time.Duration {
	if c.Interval == 0 {
		return DefaultInterval
	}
	return time.Duration(c.Interval)
}

// A Pusher pushes a registry to Graphite until its context ends.
type Pusher struct {
	b        *bridge.Bridge
	interval time.Duration
	errors   prometheus.Counter
	log      *slog.Logger
}

// New returns a Pusher of g to the Carbon of cfg, with its own error
// counter registered on reg (usually the registry g gathers).
func New(cfg Config, g prometheus.Gatherer, reg prometheus.Registerer, log *slog.Logger) (*Pusher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Address == "" {
		return nil, errors.New("metrics.graphite.address: empty")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pusher{
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_graphite_push_errors_total",
			Help: "Pushes to Graphite that failed (retried at the next interval).",
		}),
		log:      log.With("component", "graphite"),
		interval: cfg.interval(),
	}
	if err := reg.Register(p.errors); err != nil {
		return nil, fmt.Errorf("graphite: metrics: %w", err)
	}
	b, err := bridge.NewBridge(&bridge.Config{
		URL:           cfg.Address,
		Prefix:        cfg.prefix(),
		Interval:      cfg.interval(),
		Timeout:       cfg.interval(),
		Gatherer:      g,
		ErrorHandling: bridge.ContinueOnError,
	})
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	p.b = b
	return p, nil
}

// Push sends one snapshot now.
func (p *Pusher) Push() error {
	if err := p.b.Push(); err != nil {
		p.errors.Inc()
		return fmt.Errorf("graphite: push: %w", err)
	}
	return nil
}

// Run pushes every interval until ctx ends; failures are logged and
// counted, and the next interval tries again.
func (p *Pusher) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Push(); err != nil {
				p.log.Warn("pushing metrics to graphite failed; retrying at the next interval", "err", err)
			}
		}
	}
}
