package c2s

import (
	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the c2s package's metrics, named xmppd_c2s_….
type serverMetrics struct {
	connections    prometheus.Counter
	sessionsActive *prometheus.GaugeVec // state: negotiating, bound
	stanzasIn      *prometheus.CounterVec
	stanzasOut     *prometheus.CounterVec
	routed         *prometheus.CounterVec // kind, outcome
	handleSeconds  *prometheus.HistogramVec
	// The per-stanza children of the vectors above by kind, looked up once.
	in, out       byKind[prometheus.Counter]
	handling      byKind[prometheus.Observer]
	authAttempts  *prometheus.CounterVec // mechanism, result
	streamErrors  *prometheus.CounterVec
	slowConsumers prometheus.Counter
	rerouted      prometheus.Counter
	tlsFailures   prometheus.Counter
	smEnabled     prometheus.Counter
	smResumes     *prometheus.CounterVec // result: resumed, failed, timeout
	smDetached    prometheus.Gauge
	rateLimited   *prometheus.CounterVec // limit, action
	// authThrottled counts SASL attempts auth.Throttle delayed (the
	// address had failed too often); authThrottledSeconds sums the delays.
	authThrottled        prometheus.Counter
	authThrottledSeconds prometheus.Counter
	csi                  *csiMetrics
}

func newServerMetrics(reg prometheus.Registerer, s *Server) (*serverMetrics, error) {
	m := &serverMetrics{
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_connections_total", Help: "Client connections accepted."}),
		sessionsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "xmppd_c2s_sessions", Help: "Open client streams by state."}, []string{"state"}),
		stanzasIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_stanzas_in_total", Help: "Stanzas received from clients by kind."}, []string{"kind"}),
		stanzasOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_stanzas_out_total", Help: "Stanzas written to clients by kind."}, []string{"kind"}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_routed_total", Help: "Routing outcomes by stanza kind: delivered, offline, error, dropped."},
			[]string{"kind", "outcome"}),
		handleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "xmppd_c2s_handle_seconds", Help: "Time from a stanza being read to it being routed, by kind.",
			Buckets: []float64{1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1}}, []string{"kind"}),
		authAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_auth_total", Help: "SASL outcomes by mechanism: success or the failure condition."},
			[]string{"mechanism", "result"}),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_stream_errors_total", Help: "Streams closed with a stream error, by condition."}, []string{"condition"}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_slow_consumer_closes_total", Help: "Streams closed because their outbound queue stayed full."}),
		rerouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_rerouted_total", Help: "Messages queued for a session that ended, routed again."}),
		tlsFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_tls_handshake_failures_total", Help: "Failed TLS handshakes."}),
		smEnabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_sm_enabled_total", Help: "Streams that enabled XEP-0198 stream management."}),
		smResumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_sm_resumptions_total", Help: "XEP-0198 resumptions by result: resumed, failed, timeout."},
			[]string{"result"}),
		smDetached: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xmppd_c2s_sm_detached_sessions", Help: "Sessions waiting for their client to resume them."}),
	}
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xmppd_c2s_rate_limited_total",
		Help: "Rate-limit refusals by limit (stanzas, bytes, ip_concurrent, ip_per_minute) and action (stanza_error, dropped, stream_closed, refused)."},
		[]string{"limit", "action"})
	m.authThrottled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xmppd_c2s_auth_throttled_total",
		Help: "SASL attempts delayed because their address failed to authenticate too often within a minute."})
	m.authThrottledSeconds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xmppd_c2s_auth_throttled_seconds_total",
		Help: "Time SASL attempts were delayed by the per-address authentication-failure throttle."})
	m.csi = newCSIMetrics()
	bound := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "xmppd_c2s_bound_resources", Help: "Resources in the session directory."},
		func() float64 { return float64(s.dir.Len()) })
	m.in = newByKind(m.stanzasIn.WithLabelValues)
	m.out = newByKind(m.stanzasOut.WithLabelValues)
	m.handling = newByKind(m.handleSeconds.WithLabelValues)
	for _, c := range []prometheus.Collector{m.connections, m.sessionsActive, m.stanzasIn, m.stanzasOut,
		m.routed, m.handleSeconds, m.authAttempts, m.streamErrors, m.slowConsumers, m.rerouted, m.tlsFailures, bound,
		m.smEnabled, m.smResumes, m.smDetached, m.rateLimited, m.authThrottled, m.authThrottledSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, c := range m.csi.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// byKind holds the children of a vector labelled by stanza kind for the
// three kinds every stanza is, so that the per-stanza paths do not hash
// the label each time; anything else goes through the vector.
type byKind[T any] struct {
	message, presence, iq T
	with                  func(...string) T
}

func newByKind[T any](with func(...string) T) byKind[T] {
	return byKind[T]{message: with("message"), presence: with("presence"), iq: with("iq"), with: with}
}

// of returns the child for kind.
func (b byKind[T]) of(kind string) T {
	switch kind {
	case "message":
		return b.message
	case "presence":
		return b.presence
	case "iq":
		return b.iq
	}
	return b.with(kind)
}
