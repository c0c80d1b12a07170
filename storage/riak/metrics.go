package riak

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the backend's Prometheus series, all labelled by op (the
// storage operation, e.g. "documents_get").
type metrics struct {
	requests *prometheus.CounterVec   // op, outcome: ok, error, unavailable
	retries  *prometheus.CounterVec   // op
	latency  *prometheus.HistogramVec // op: whole operation, retries included
	siblings prometheus.Histogram     // siblings per document read
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_riak_operations_total",
			Help: "Storage operations on Riak by outcome (ok, error, unavailable).",
		}, []string{"op", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_riak_retries_total",
			Help: "Riak requests tried again after a failure.",
		}, []string{"op"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xmppd_riak_operation_duration_seconds",
			Help:    "Time of one storage operation on Riak, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"op"}),
		siblings: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xmppd_riak_document_siblings",
			Help:    "Siblings found per document read; more than one means concurrent writes were merged.",
			Buckets: []float64{1, 2, 3, 5, 8, 13, 21},
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.siblings, err = register(reg, m.siblings); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a backend reopened on the same registry shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
