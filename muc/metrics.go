package muc

import "github.com/prometheus/client_golang/prometheus"

// mucMetrics are the package's metrics, named xmppd_muc_….
type mucMetrics struct {
	rooms      prometheus.Gauge
	occupants  prometheus.Gauge
	messages   *prometheus.CounterVec // kind: groupchat, subject, private, invite, decline, voice_request
	deliveries prometheus.Counter
	refused    *prometheus.CounterVec // reason
	storeErrs  prometheus.Counter

	// messages' children for the kinds counted on every message, looked
	// up once here rather than by label per message.
	groupchat, subject, private prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*mucMetrics, error) {
	m := &mucMetrics{
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xmppd_muc_rooms", Help: "Rooms that exist (in memory), persistent and temporary."}),
		occupants: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xmppd_muc_occupants", Help: "Occupants of all rooms."}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_muc_messages_total",
			Help: "Messages accepted by rooms, by kind: groupchat, subject, private, invite, decline, voice_request."},
			[]string{"kind"}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_muc_fanout_deliveries_total",
			Help: "Stanzas queued to occupants by room fan-out (messages, presence, history)."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_muc_refused_total",
			Help: "Stanzas refused with an error, by reason (the error condition)."},
			[]string{"reason"}),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_muc_storage_errors_total", Help: "Persistent room writes or reads that failed."}),
	}
	for _, c := range []prometheus.Collector{m.rooms, m.occupants, m.messages, m.deliveries, m.refused, m.storeErrs} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.groupchat = m.messages.WithLabelValues("groupchat")
	m.subject = m.messages.WithLabelValues("subject")
	m.private = m.messages.WithLabelValues("private")
	return m, nil
}
