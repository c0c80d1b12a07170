package riak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	riakc "github.com/basho/riak-go-client"

	"github.com/xmppd/xmppd/storage"
)

// Backend is storage.Backend on a Riak KV cluster. Its methods are safe for
// concurrent use; after Close they return storage.ErrClosed.
type Backend struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	cluster *riakc.Cluster

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	docs     documents
	kv       kvStore
	queues   queues
	archives archives
}

var _ storage.Backend = (*Backend)(nil)

// Open connects to the nodes of cfg and, unless cfg.SkipBucketTypeCheck,
// checks that both bucket types exist with the allow_mult they need. It
// fails with an error wrapping storage.ErrUnavailable when no node answers.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("riak: register metrics: %w", err)
	}
	nodes := make([]*riakc.Node, 0, len(cfg.Nodes))
	for _, addr := range cfg.Nodes {
		n, err := riakc.NewNode(&riakc.NodeOptions{
			RemoteAddress:       addr,
			MinConnections:      uint16(cfg.MinConnections),
			MaxConnections:      uint16(cfg.MaxConnections),
			ConnectTimeout:      time.Duration(cfg.ConnectTimeout),
			RequestTimeout:      time.Duration(cfg.RequestTimeout),
			HealthCheckInterval: time.Duration(cfg.HealthCheckInterval),
		})
		if err != nil {
			return nil, fmt.Errorf("riak: node %s: %w", addr, err)
		}
		nodes = append(nodes, n)
	}
	// One attempt per Execute: retries, backoff and the choice of what is
	// worth retrying are ours (exec), so that they obey the context.
	cluster, err := riakc.NewCluster(&riakc.ClusterOptions{Nodes: nodes, ExecutionAttempts: 1})
	if err != nil {
		return nil, fmt.Errorf("riak: cluster: %w", err)
	}
	log := cfg.Logger.With("storage", "riak")
	if !primeRoundRobin(cluster) {
		log.Warn("riak client layout changed: cannot work around its node-manager loop; Open may hang while every node is down")
	}
	if err := cluster.Start(); err != nil {
		return nil, fmt.Errorf("riak: start cluster: %w", err)
	}
	b := &Backend{cfg: cfg, log: log, metrics: m, cluster: cluster}
	b.docs = documents{b}
	b.kv = kvStore{b}
	b.queues = queues{b: b, locks: new(keyLocks)}
	b.archives = archives{b}
	if err := b.Ping(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if !cfg.SkipBucketTypeCheck {
		if err := b.checkBucketTypes(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// checkBucketTypes turns a missing or misconfigured bucket type into an
// error at start-up instead of a sibling-less Documents store later.
func (b *Backend) checkBucketTypes(ctx context.Context) error {
	want := []struct {
		name, key string
		allowMult bool
	}{
		{b.cfg.DocumentsBucketType, "documents_bucket_type", true},
		{b.cfg.KVBucketType, "kv_bucket_type", false},
	}
	for _, w := range want {
		cmd, err := b.exec(ctx, "bucket_type_props", w.name, func() (riakc.Command, error) {
			return riakc.NewFetchBucketTypePropsCommandBuilder().WithBucketType(w.name).Build()
		})
		if err != nil {
			return fmt.Errorf("riak: %s %q (see docs/riak.md for riak-admin bucket-type create): %w", w.key, w.name, err)
		}
		resp := cmd.(*riakc.FetchBucketTypePropsCommand).Response
		if resp == nil {
			return fmt.Errorf("riak: %s %q: no properties returned", w.key, w.name)
		}
		if resp.AllowMult != w.allowMult {
			return fmt.Errorf("riak: %s %q has allow_mult = %v, want %v (see docs/riak.md)", w.key, w.name, resp.AllowMult, w.allowMult)
		}
	}
	return nil
}

// Documents returns the CRDT document store.
func (b *Backend) Documents() storage.Documents { return b.docs }

// KV returns the plain value store.
func (b *Backend) KV() storage.KV { return b.kv }

// Queues returns the per-user queues.
func (b *Backend) Queues() storage.Queues { return b.queues }

// Archives returns the per-user archives.
func (b *Backend) Archives() storage.Archives { return b.archives }

// Ping sends a Riak ping to the next node in turn, failing over like any
// request; it fails with storage.ErrUnavailable when none answers.
func (b *Backend) Ping(ctx context.Context) error {
	_, err := b.exec(ctx, "ping", "", func() (riakc.Command, error) {
		return &riakc.PingCommand{}, nil
	})
	return err
}

// Close stops every node's connections. Calls in flight may fail.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		if err := b.cluster.Stop(); err != nil {
			b.closeErr = fmt.Errorf("riak: close: %w", err)
		}
	})
	return b.closeErr
}

// exec runs the command that build makes (anew for each attempt: commands
// keep state) until it succeeds, fails in a way a retry cannot fix, the
// retries are used up or ctx ends. op and key name the operation in errors
// and metrics. Errors wrap storage.ErrUnavailable when the cluster could
// not be reached, the context's error when ctx ended, and the Riak error
// otherwise.
func (b *Backend) exec(ctx context.Context, op, key string, build func() (riakc.Command, error)) (riakc.Command, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("riak: %s %s: %w", op, key, storage.ErrClosed)
	}
	start := time.Now()
	defer func() { b.metrics.latency.WithLabelValues(op).Observe(time.Since(start).Seconds()) }()
	what := op
	if key != "" {
		what += " " + key
	}
	attempts := 0
	var first, last error
	for {
		cmd, err := build()
		if err != nil {
			b.metrics.requests.WithLabelValues(op, "error").Inc()
			return nil, fmt.Errorf("riak: %s: build request: %w", what, err)
		}
		attempts++
		err = b.run(ctx, cmd)
		if err == nil {
			b.metrics.requests.WithLabelValues(op, "ok").Inc()
			return cmd, nil
		}
		if b.closed.Load() {
			return nil, fmt.Errorf("riak: %s: %w", what, storage.ErrClosed)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			b.metrics.requests.WithLabelValues(op, "unavailable").Inc()
			return nil, fmt.Errorf("riak: %s: %w (after %s, last: %s)", what, ctxErr, plural(attempts, "attempt"), describe(err, b.cfg))
		}
		if re, ok := riakError(err); ok && !retryableRiakError(re) {
			b.metrics.requests.WithLabelValues(op, "error").Inc()
			return nil, &Error{Op: what, Riak: re}
		}
		if first == nil {
			first = err
		}
		last = err
		if attempts > b.cfg.Retries {
			break
		}
		b.metrics.retries.WithLabelValues(op).Inc()
		wait := b.backoff(attempts)
		b.log.Debug("riak request failed, retrying", "op", op, "key", key, "attempt", attempts, "wait", wait, "err", describe(err, b.cfg))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			b.metrics.requests.WithLabelValues(op, "unavailable").Inc()
			return nil, fmt.Errorf("riak: %s: %w (after %s, last: %s)", what, ctx.Err(), plural(attempts, "attempt"), describe(last, b.cfg))
		}
	}
	b.metrics.requests.WithLabelValues(op, "unavailable").Inc()
	cause := describe(last, b.cfg)
	if f := describe(first, b.cfg); f != cause {
		cause += "; first failure: " + f
	}
	return nil, fmt.Errorf("riak: %s: %w after %s: %s", what, storage.ErrUnavailable, plural(attempts, "attempt"), cause)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// run executes cmd once (the client tries each node in turn until one
// takes it) and gives up waiting when ctx ends; the command then finishes
// in the background within the request timeout.
func (b *Backend) run(ctx context.Context, cmd riakc.Command) error {
	a := &riakc.Async{Command: cmd, Done: make(chan riakc.Command, 1)}
	if err := b.cluster.ExecuteAsync(a); err != nil {
		return err
	}
	select {
	case <-a.Done:
		if a.Error != nil {
			return a.Error
		}
		return cmd.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff returns the wait before retry n (1-based): RetryBackoff doubled
// n-1 times, capped, with the upper half jittered.
func (b *Backend) backoff(n int) time.Duration {
	d := time.Duration(b.cfg.RetryBackoff)
	for i := 1; i < n && d < time.Duration(b.cfg.MaxRetryBackoff); i++ {
		d *= 2
	}
	d = min(d, time.Duration(b.cfg.MaxRetryBackoff))
	return d/2 + rand.N(d/2+1)
}

// An Error is a request that a Riak node refused, such as a write to a
// bucket type that does not exist.
type Error struct {
	Op   string // operation and key, e.g. "kv_put account/alice@example.net"
	Riak riakc.RiakError
}

func (e *Error) Error() string {
	return fmt.Sprintf("riak: %s: riak error: %s", e.Op, e.Riak.Errmsg)
}

// riakError finds the Riak error response inside err: the client wraps it
// in a ClientError (without Unwrap) when its own attempts run out.
func riakError(err error) (riakc.RiakError, bool) {
	for err != nil {
		switch e := err.(type) {
		case riakc.RiakError:
			return e, true
		case riakc.ClientError:
			err = e.InnerError
		default:
			return riakc.RiakError{}, false
		}
	}
	return riakc.RiakError{}, false
}

// retryableRiakError reports whether a Riak error response is about the
// cluster's state (overload, too few replicas up) rather than the request.
func retryableRiakError(e riakc.RiakError) bool {
	msg := strings.ToLower(e.Errmsg)
	for _, s := range []string{"timeout", "overload", "insufficient_vnodes", "n_val_violation",
		"pr_val_unsatisfied", "pw_val_unsatisfied", "all_nodes_down", "unavailable", "no_node"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// describe turns the client's error into a sentence an operator can act on.
func describe(err error, cfg Config) string {
	root := err
	for {
		ce, ok := root.(riakc.ClientError)
		if !ok || ce.InnerError == nil {
			break
		}
		root = ce.InnerError
	}
	if ce, ok := root.(riakc.ClientError); ok && strings.Contains(ce.Errmsg, "no nodes available") {
		return "no node available: all are down or waiting for a health check"
	}
	var ne net.Error
	switch {
	case errors.As(root, &ne) && ne.Timeout():
		return fmt.Sprintf("request timed out after %v: %v", time.Duration(cfg.RequestTimeout), root)
	case errors.Is(root, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused: %v", root)
	case errors.Is(root, io.EOF), errors.Is(root, io.ErrUnexpectedEOF), errors.Is(root, syscall.ECONNRESET):
		return fmt.Sprintf("connection closed by the node mid-request: %v", root)
	}
	return root.Error()
}
