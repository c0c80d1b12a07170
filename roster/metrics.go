package roster

import "github.com/prometheus/client_golang/prometheus"

// rosterMetrics are the roster package's metrics, named xmppd_roster_….
type rosterMetrics struct {
	loads       *prometheus.CounterVec // reason: get, presence, update
	updates     prometheus.Counter
	pushes      prometheus.Counter
	gets        *prometheus.CounterVec // result: full, unchanged, incremental
	transitions *prometheus.CounterVec // direction (out, in), type
	presence    *prometheus.CounterVec // kind: broadcast, probe_answer, directed_unavailable
	noteErrors  prometheus.Counter
	storeErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*rosterMetrics, error) {
	m := &rosterMetrics{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_roster_loads_total", Help: "Roster documents read from storage, by reason."}, []string{"reason"}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_roster_updates_total", Help: "Roster documents written (read-merge-write cycles)."}),
		pushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_roster_pushes_total", Help: "Roster pushes sent to interested resources."}),
		gets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_roster_gets_total", Help: "Roster gets answered, by result: full, unchanged, incremental."},
			[]string{"result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_roster_subscription_transitions_total",
			Help: "Subscription stanzas that changed a roster, by direction (out: the sender's side, in: the recipient's) and type."},
			[]string{"direction", "type"}),
		presence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_roster_presence_sent_total",
			Help: "Presence stanzas the roster sent on users' behalf, by kind: broadcast, probe_answer, directed_unavailable, subscription."},
			[]string{"kind"}),
		noteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_roster_note_errors_total", Help: "Stored roster notes that could not be opened (left out of what the client gets)."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_roster_storage_errors_total", Help: "Roster reads or writes that failed."}),
	}
	for _, c := range []prometheus.Collector{m.loads, m.updates, m.pushes, m.gets, m.transitions, m.presence, m.noteErrors, m.storeErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
