package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLint(t *testing.T) {
	tests := []struct {
		name    string
		metric  prometheus.Collector
		wantErr bool
	}{
		{name: "good counter", metric: prometheus.NewCounter(prometheus.CounterOpts{Name: "xmppd_c2s_stanzas_total", Help: "h"})},
		{name: "good gauge", metric: prometheus.NewGauge(prometheus.GaugeOpts{Name: "xmppd_c2s_sessions", Help: "h"})},
		{name: "wrong package", metric: prometheus.NewGauge(prometheus.GaugeOpts{Name: "xmppd_muc_rooms", Help: "h"}), wantErr: true},
		{name: "counter without total", metric: prometheus.NewCounter(prometheus.CounterOpts{Name: "xmppd_c2s_stanzas", Help: "h"}), wantErr: true},
		{name: "camel case", metric: prometheus.NewGauge(prometheus.GaugeOpts{Name: "xmppd_c2s_Sessions", Help: "h"}), wantErr: true},
		{name: "no help", metric: prometheus.NewGauge(prometheus.GaugeOpts{Name: "xmppd_c2s_queue", Help: " "}), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			r.MustRegister(tt.metric)
			if c, ok := tt.metric.(prometheus.Counter); ok {
				c.Inc()
			}
			err := Lint(r, "c2s")
			if (err != nil) != tt.wantErr {
				t.Errorf("Lint() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
