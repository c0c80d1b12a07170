package mam

import "github.com/prometheus/client_golang/prometheus"

type mamMetrics struct {
	archived *prometheus.CounterVec // direction: in, out
	skipped  *prometheus.CounterVec // reason: prefs
	errors   *prometheus.CounterVec // op: append, prefs, roster, prune, query, clear
	queries  *prometheus.CounterVec // outcome: ok, error
	results  prometheus.Counter
}

// newMetricsNamed registers the archive metrics with names starting with
// prefix, so that room archives count apart from user archives.
func newMetricsNamed(reg prometheus.Registerer, prefix string) (*mamMetrics, error) {
	m := &mamMetrics{
		archived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "archived_total", Help: "Messages archived, by direction (in: recipient's archive, out: sender's)."}, []string{"direction"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "skipped_total", Help: "Archivable messages not archived, by reason."}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "errors_total", Help: "Storage failures of the message archive, by operation."}, []string{"op"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "queries_total", Help: "Archive queries, by outcome."}, []string{"outcome"}),
		results: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "results_total", Help: "Archived messages sent in query results."}),
	}
	for _, c := range []prometheus.Collector{m.archived, m.skipped, m.errors, m.queries, m.results} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
