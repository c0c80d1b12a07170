package privacy

import "github.com/prometheus/client_golang/prometheus"

// privacyMetrics are the privacy package's metrics, named xmppd_privacy_….
type privacyMetrics struct {
	updates     *prometheus.CounterVec // op: list, remove_list, incremental, active, default, block, unblock
	blocked     *prometheus.CounterVec // direction (in, out), kind (message, iq, presence)
	pushes      *prometheus.CounterVec // kind: list, block, unblock
	loads       *prometheus.CounterVec // reason: bind, offline, get
	storeErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*privacyMetrics, error) {
	m := &privacyMetrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_privacy_updates_total",
			Help: "Privacy changes applied, by op: list, remove_list, incremental, active, default, block, unblock."},
			[]string{"op"}),
		blocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_privacy_blocked_stanzas_total",
			Help: "Stanzas stopped by a privacy list, by direction (in: the recipient's list, out: the sender's) and stanza kind."},
			[]string{"direction", "kind"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_privacy_pushes_total", Help: "Privacy list and blocklist pushes sent to resources, by kind: list, block, unblock."},
			[]string{"kind"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_privacy_loads_total", Help: "Privacy documents read from storage, by reason: bind, offline, request."},
			[]string{"reason"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_privacy_storage_errors_total", Help: "Privacy document reads or writes that failed."}),
	}
	for _, c := range []prometheus.Collector{m.updates, m.blocked, m.pushes, m.loads, m.storeErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
