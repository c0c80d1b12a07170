package vcard

import "github.com/prometheus/client_golang/prometheus"

type vcardMetrics struct {
	reads, writes, tooLarge, errors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*vcardMetrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "xmppd_vcard_" + name, Help: help})
	}
	m := &vcardMetrics{
		reads:    c("reads_total", "vCards read."),
		writes:   c("writes_total", "vCards stored."),
		tooLarge: c("too_large_total", "vCard sets refused for their size."),
		errors:   c("storage_errors_total", "Storage failures reading or writing vCards."),
	}
	for _, col := range []prometheus.Collector{m.reads, m.writes, m.tooLarge, m.errors} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return m, nil
}
