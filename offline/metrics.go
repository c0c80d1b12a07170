package offline

import "github.com/prometheus/client_golang/prometheus"

// offlineMetrics are the package's metrics, named xmppd_offline_….
type offlineMetrics struct {
	stored      prometheus.Counter
	delivered   prometheus.Counter
	rejected    *prometheus.CounterVec // reason
	corrupt     prometheus.Counter
	queueLength prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*offlineMetrics, error) {
	m := &offlineMetrics{
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_offline_stored_total", Help: "Messages stored for users with no available resource."}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_offline_delivered_total", Help: "Stored messages queued to a resource that came online."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_offline_rejected_total",
			Help: "Messages for offline users that were not stored, by reason: quota, too_large, storage, no_store, type (answered with an error); headline, error, chat_state (dropped silently)."},
			[]string{"reason"}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_offline_corrupt_total", Help: "Stored messages that could not be decoded at delivery and were dropped."}),
		queueLength: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xmppd_offline_queue_length_at_delivery",
			Help:    "Stored messages waiting when a resource came online and found its queue non-empty.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
	}
	for _, c := range []prometheus.Collector{m.stored, m.delivered, m.rejected, m.corrupt, m.queueLength} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
