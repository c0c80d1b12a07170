package notes

import "github.com/prometheus/client_golang/prometheus"

// Verification failure reasons, the values of the reason label.
const (
	reasonTampered   = "tampered"
	reasonUnknownKey = "unknown_key"
	reasonMalformed  = "malformed"
)

// Metrics counts what keyrings seal, open, reject and rekey. A nil
// *Metrics counts nothing. Safe for concurrent use.
type Metrics struct {
	sealedTotal  prometheus.Counter
	openedTotal  prometheus.Counter
	failures     *prometheus.CounterVec
	rekeyedTotal prometheus.Counter
	keys         prometheus.Gauge
}

// NewMetrics registers the xmppd_notes_* metrics on reg. Pass the result
// to LoadKeyring with WithMetrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sealedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_notes_sealed_total",
			Help: "Roster notes encrypted for storage.",
		}),
		openedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_notes_opened_total",
			Help: "Stored roster notes that verified and were decrypted.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_notes_verification_failures_total",
			Help: "Stored roster notes rejected, by reason: tampered (MAC mismatch), unknown_key, malformed.",
		}, []string{"reason"}),
		rekeyedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_notes_rekeyed_total",
			Help: "Roster notes re-encrypted under the current key by a rekey.",
		}),
		keys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xmppd_notes_keys",
			Help: "Note keys configured (the current one and older ones still accepted).",
		}),
	}
	for _, r := range []string{reasonTampered, reasonUnknownKey, reasonMalformed} {
		m.failures.WithLabelValues(r)
	}
	reg.MustRegister(m.sealedTotal, m.openedTotal, m.failures, m.rekeyedTotal, m.keys)
	return m
}

func (m *Metrics) sealed() {
	if m != nil {
		m.sealedTotal.Inc()
	}
}

func (m *Metrics) opened() {
	if m != nil {
		m.openedTotal.Inc()
	}
}

func (m *Metrics) failed(reason string) {
	if m != nil {
		m.failures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) rekeyed(n int) {
	if m != nil {
		m.rekeyedTotal.Add(float64(n))
	}
}

func (m *Metrics) setKeys(n int) {
	if m != nil {
		m.keys.Set(float64(n))
	}
}
