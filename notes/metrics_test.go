package notes

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/xmppd/xmppd/metrics"
)

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func TestMetrics(t *testing.T) {
	reg := metrics.New()
	m := NewMetrics(reg)
	k := load(t, Config{KeyFile: writeKeys(t, line("k1", key128), line("k2", key256))}, WithMetrics(m))
	other := load(t, Config{KeyFile: writeKeys(t, line("k9", keyB))})

	sealed, _ := k.Seal(owner, contact, []byte("n"))
	for range 3 {
		if _, err := k.Open(owner, contact, sealed); err != nil {
			t.Fatal(err)
		}
	}
	k.Open("someone@else", contact, sealed)
	foreign, _ := other.Seal(owner, contact, []byte("n"))
	k.Open(owner, contact, foreign)
	k.Open(owner, contact, []byte{9, 9, 9})
	k.Open(owner, contact, nil)

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{name: "sealed", c: m.sealedTotal, want: 1},
		{name: "opened", c: m.openedTotal, want: 3},
		{name: "tampered", c: m.failures.WithLabelValues(reasonTampered), want: 1},
		{name: "unknown key", c: m.failures.WithLabelValues(reasonUnknownKey), want: 1},
		{name: "malformed", c: m.failures.WithLabelValues(reasonMalformed), want: 2},
		{name: "keys", c: m.keys, want: 2},
	}
	for _, tt := range tests {
		if got := counterValue(t, tt.c); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := metrics.Lint(reg, "notes"); err != nil {
		t.Error(err)
	}
}
