package riak

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config holds the Riak backend settings. The zero value means the defaults
// given on each field except Nodes, which must list at least one node.
// Validate only rejects nonsense; Open applies the defaults.
type Config struct {
	// Nodes are the host:port addresses of the nodes' Protocol Buffers
	// listeners (Riak's listener.protobuf.internal, port 8087 by default).
	// Requests go to them round-robin; a node that fails is skipped until
	// a health-check ping succeeds again.
	Nodes []string `toml:"nodes"`
	// ConnectTimeout bounds one TCP connect (default 3s).
	ConnectTimeout Duration `toml:"connect_timeout"`
	// RequestTimeout bounds the wait for each response of one request on
	// one node (default 5s). A node that does not answer in time fails the
	// attempt, which is retried like any other failure.
	RequestTimeout Duration `toml:"request_timeout"`
	// Retries is how many times a failed request is tried again, on the
	// next node, before storage.ErrUnavailable (default 3; negative: none).
	Retries int `toml:"retries"`
	// RetryBackoff is the wait before the first retry (default 50ms); it
	// doubles with each retry up to MaxRetryBackoff, with random jitter.
	RetryBackoff Duration `toml:"retry_backoff"`
	// MaxRetryBackoff caps the wait between retries (default 1s).
	MaxRetryBackoff Duration `toml:"max_retry_backoff"`
	// HealthCheckInterval is how often a failed node is pinged until it
	// answers and takes requests again (default 125ms).
	HealthCheckInterval Duration `toml:"health_check_interval"`
	// MinConnections and MaxConnections bound each node's connection pool
	// (defaults 1 and 64). A request waits for no free connection: past
	// the maximum it fails over to the next node.
	MinConnections int `toml:"min_connections"`
	MaxConnections int `toml:"max_connections"`
	// DocumentsBucketType names the bucket type of CRDT documents and queue
	// indexes; it must have allow_mult = true and dvv_enabled = true
	// (default "xmppd_docs").
	DocumentsBucketType string `toml:"documents_bucket_type"`
	// KVBucketType names the bucket type of plain values, queue items and
	// archive entries; it must have allow_mult = false (default "xmppd_kv").
	// Archives need secondary indexes: the leveldb or memory backend.
	KVBucketType string `toml:"kv_bucket_type"`
	// BucketPrefix starts every bucket name, so that several deployments
	// can share one cluster (default "xmppd.").
	BucketPrefix string `toml:"bucket_prefix"`
	// MaxValueBytes bounds one stored value; larger is storage.ErrTooLarge
	// (default 1 MiB; Riak itself warns at 5 MiB and refuses 50 MiB).
	MaxValueBytes int `toml:"max_value_bytes"`
	// SkipBucketTypeCheck stops Open from checking that the bucket types
	// exist with the right allow_mult (for clusters that deny bucket-type
	// reads to this user).
	SkipBucketTypeCheck bool `toml:"skip_bucket_type_check"`

	// Logger receives debug logs of retries (default slog.Default()).
	Logger *slog.Logger `toml:"-"`
	// Registerer, when set, gets the backend's metrics (metrics.go).
	Registerer prometheus.Registerer `toml:"-"`
}

// Duration is a time.Duration that decodes from strings such as "250ms".
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

// Validate reports the first problem with c, naming the config key.
func (c Config) Validate() error {
	if len(c.Nodes) == 0 {
		return errors.New("riak: nodes: at least one host:port is required")
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if _, _, err := net.SplitHostPort(n); err != nil {
			return fmt.Errorf("riak: nodes: %q: %w", n, err)
		}
		if seen[n] {
			return fmt.Errorf("riak: nodes: %q listed twice", n)
		}
		seen[n] = true
	}
	durations := []struct {
		key string
		d   Duration
	}{
		{"connect_timeout", c.ConnectTimeout},
		{"request_timeout", c.RequestTimeout},
		{"retry_backoff", c.RetryBackoff},
		{"max_retry_backoff", c.MaxRetryBackoff},
		{"health_check_interval", c.HealthCheckInterval},
	}
	for _, d := range durations {
		if d.d < 0 {
			return fmt.Errorf("riak: %s: negative duration %v", d.key, time.Duration(d.d))
		}
	}
	if c.MinConnections < 0 || c.MaxConnections < 0 || c.MaxConnections > 65535 {
		return errors.New("riak: min_connections, max_connections: must be within 0..65535")
	}
	if c.MaxConnections != 0 && c.MinConnections > c.MaxConnections {
		return errors.New("riak: min_connections exceeds max_connections")
	}
	if c.MaxValueBytes < 0 {
		return errors.New("riak: max_value_bytes: negative")
	}
	if c.DocumentsBucketType != "" && c.DocumentsBucketType == c.KVBucketType {
		return errors.New("riak: documents_bucket_type and kv_bucket_type must differ (they need different allow_mult)")
	}
	if strings.ContainsRune(c.BucketPrefix, '/') {
		return errors.New("riak: bucket_prefix: must not contain '/'")
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.ConnectTimeout, 3*time.Second)
	def(&c.RequestTimeout, 5*time.Second)
	def(&c.RetryBackoff, 50*time.Millisecond)
	def(&c.MaxRetryBackoff, time.Second)
	def(&c.HealthCheckInterval, 125*time.Millisecond)
	switch {
	case c.Retries == 0:
		c.Retries = 3
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.MinConnections == 0 {
		c.MinConnections = 1
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 64
	}
	if c.MinConnections > c.MaxConnections {
		c.MinConnections = c.MaxConnections
	}
	if c.DocumentsBucketType == "" {
		c.DocumentsBucketType = "xmppd_docs"
	}
	if c.KVBucketType == "" {
		c.KVBucketType = "xmppd_kv"
	}
	if c.BucketPrefix == "" {
		c.BucketPrefix = "xmppd."
	}
	if c.MaxValueBytes == 0 {
		c.MaxValueBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
