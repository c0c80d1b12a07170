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
// here; storage/riak declares its own, per node, and is not wrapped. The
// wrapper adds two map-free label lookups and a time.Since per call (the
// metric children are resolved once, in New).
package instrumented

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/storage"
)

// opMetrics are the package's metrics, named xmppd_storage_….
type opMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// op is one operation's pre-resolved metric children.
type op struct {
	m      *opMetrics
	labels [3]string
	dur    prometheus.Observer
}

func (m *opMetrics) op(backend, shape, name string) *op {
	return &op{m: m, labels: [3]string{backend, shape, name}, dur: m.duration.WithLabelValues(backend, shape, name)}
}

// done records one call that started at start and returned err.
func (o *op) done(start time.Time, err error) {
	o.dur.Observe(time.Since(start).Seconds())
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrQueueFull) {
		return
	}
	kind := "other"
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		kind = "unavailable"
	case errors.Is(err, storage.ErrClosed):
		kind = "closed"
	case errors.Is(err, storage.ErrTooLarge):
		kind = "too_large"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	}
	o.m.errors.WithLabelValues(o.labels[0], o.labels[1], o.labels[2], kind).Inc()
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

// New wraps b, naming it backend in the labels, and registers the metrics
// on reg.
func New(b storage.Backend, backend string, reg prometheus.Registerer) (*Backend, error) {
	m := &opMetrics{
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
	o := func(shape, name string) *op { return m.op(backend, shape, name) }
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
	b.ping.done(start, err)
	return err
}

// Close closes the wrapped backend.
func (b *Backend) Close() error { return b.inner.Close() }

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() storage.Backend { return b.inner }
