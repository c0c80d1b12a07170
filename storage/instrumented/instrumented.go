// Package instrumented wraps a storage.Backend so that every operation is
// timed and its failures counted, per backend, shape and operation:
//
//	xmppd_storage_operation_duration_seconds{backend, shape, op}  histogram
//	xmppd_storage_operation_errors_total{backend, shape, op, error}
//
// shape is documents, kv, queues or archives (storage's four shapes), op the
// method (get, put, push, query, …). Answers that are outcomes rather than
// failures — storage.ErrNotFound, ErrExists, ErrQueueFull — are timed but
// not counted as errors; the error label of a failure is its storage
// sentinel (unavailable, closed, too_large) or "other".
//
// The embedded backend has no metrics of its own, so cmd/xmppd wraps it
// here; storage/riak declares its own, per node, and is wrapped without
// metrics (New with a nil registerer), for the trace alone. The wrapper
// adds two map-free label lookups and a time.Since per call (the metric
// children are resolved once, in New).
//
// # Debug trace
//
// Storage knows nothing of sessions, but the context of a call made on
// behalf of a session whose debug switch is on carries that session's
// logger (debugtrace.WithLogger, set by c2s). Every such call is logged
// at Debug on it as "storage" with the backend, the operation
// (shape.op, e.g. documents.get), the key (kind/user; the kind alone for
// a list), the duration, the outcome (ok, not_found, exists, queue_full
// or the failure kind) and the error, so the session's live trace shows
// what its stanzas cost in storage. Values are never logged. Calls of
// sessions that are not debugged pay one ctx.Value lookup.
package instrumented

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/debugtrace"
	"github.com/xmppd/xmppd/storage"
)

// opMetrics are the package's metrics, named xmppd_storage_….
type opMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// op is one operation's pre-resolved metric children (nil without
// metrics) and its name in the trace.
type op struct {
	m      *opMetrics
	labels [3]string
	dur    prometheus.Observer
	name   string // shape.op, e.g. "documents.get"
}

func newOp(m *opMetrics, backend, shape, name string) *op {
	o := &op{m: m, labels: [3]string{backend, shape, name}, name: shape + "." + name}
	if m != nil {
		o.dur = m.duration.WithLabelValues(backend, shape, name)
	}
	return o
}

// outcome classifies err: "ok", an answer that is not a failure
// (not_found, exists, queue_full), or the kind of a failure.
func outcome(err error) (kind string, failed bool) {
	switch {
	case err == nil:
		return "ok", false
	case errors.Is(err, storage.ErrNotFound):
		return "not_found", false
	case errors.Is(err, storage.ErrExists):
		return "exists", false
	case errors.Is(err, storage.ErrQueueFull):
		return "queue_full", false
	case errors.Is(err, storage.ErrUnavailable):
		return "unavailable", true
	case errors.Is(err, storage.ErrClosed):
		return "closed", true
	case errors.Is(err, storage.ErrTooLarge):
		return "too_large", true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "timeout", true
	}
	return "other", true
}

// done records one call on k (only its Kind for a list) that started at
// start and returned err, and traces it when ctx belongs to a debugged
// session.
func (o *op) done(ctx context.Context, k storage.Key, start time.Time, err error) {
	d := time.Since(start)
	if o.dur != nil {
		o.dur.Observe(d.Seconds())
		if err != nil {
			if kind, failed := outcome(err); failed {
				o.m.errors.WithLabelValues(o.labels[0], o.labels[1], o.labels[2], kind).Inc()
			}
		}
	}
	if l := debugtrace.Logger(ctx); l != nil {
		o.trace(ctx, l, k, d, err)
	}
}

// trace logs the call at Debug on a debugged session's logger. The key
// names whose data it is (kind/user); values are never logged.
func (o *op) trace(ctx context.Context, l *slog.Logger, k storage.Key, d time.Duration, err error) {
	key := slog.String("key", k.String())
	if k.User == "" {
		key = slog.String("kind", k.Kind)
	}
	kind, _ := outcome(err)
	attrs := []slog.Attr{slog.String("backend", o.labels[0]), slog.String("op", o.name), key,
		slog.Duration("duration", d), slog.String("outcome", kind)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	l.LogAttrs(ctx, slog.LevelDebug, "storage", attrs...)
}

// Backend is an instrumented storage.Backend. Close and the shapes pass
// through to the wrapped backend; it is as safe for concurrent use as that
// one.
type Backend struct {
	inner    storage.Backend
	docs     documents
	kv       kv
	queues   queues
	archives archives
	ping     *op
}

var _ storage.Backend = (*Backend)(nil)

// New wraps b, naming it backend in the labels and the trace, and
// registers the metrics on reg. A nil reg leaves the metrics out: the
// wrapper then only traces (for a backend with metrics of its own).
func New(b storage.Backend, backend string, reg prometheus.Registerer) (*Backend, error) {
	var m *opMetrics
	if reg != nil {
		m = &opMetrics{
			duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "xmppd_storage_operation_duration_seconds",
				Help:    "Time taken by storage operations, by backend, shape (documents, kv, queues, archives) and operation.",
				Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
			}, []string{"backend", "shape", "op"}),
			errors: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "xmppd_storage_operation_errors_total",
				Help: "Storage operations that failed (not found, exists and queue full are outcomes, not failures), by backend, shape, operation and error kind.",
			}, []string{"backend", "shape", "op", "error"}),
		}
		for _, c := range []prometheus.Collector{m.duration, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("storage/instrumented: metrics: %w", err)
			}
		}
	}
	o := func(shape, name string) *op { return newOp(m, backend, shape, name) }
	return &Backend{
		inner: b,
		docs: documents{inner: b.Documents(), get: o("documents", "get"), put: o("documents", "put"),
			del: o("documents", "delete"), list: o("documents", "list")},
		kv: kv{inner: b.KV(), get: o("kv", "get"), put: o("kv", "put"), create: o("kv", "create"),
			del: o("kv", "delete"), list: o("kv", "list")},
		queues: queues{inner: b.Queues(), push: o("queues", "push"), peek: o("queues", "peek"), ack: o("queues", "ack"),
			len: o("queues", "len"), clear: o("queues", "clear")},
		archives: archives{inner: b.Archives(), append: o("archives", "append"), query: o("archives", "query"),
			get: o("archives", "get"), deleteBefore: o("archives", "delete_before"), clear: o("archives", "clear")},
		ping: o("backend", "ping"),
	}, nil
}

// Documents returns the instrumented documents shape.
func (b *Backend) Documents() storage.Documents { return b.docs }

// KV returns the instrumented KV shape.
func (b *Backend) KV() storage.KV { return b.kv }

// Queues returns the instrumented queues shape.
func (b *Backend) Queues() storage.Queues { return b.queues }

// Archives returns the instrumented archives shape.
func (b *Backend) Archives() storage.Archives { return b.archives }

// Ping times the wrapped backend's Ping.
func (b *Backend) Ping(ctx context.Context) error {
	start := time.Now()
	err := b.inner.Ping(ctx)
	b.ping.done(ctx, storage.Key{Kind: "ping"}, start, err)
	return err
}

// Close closes the wrapped backend.
func (b *Backend) Close() error { return b.inner.Close() }

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() storage.Backend { return b.inner }
