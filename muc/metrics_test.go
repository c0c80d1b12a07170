package muc

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.messages.WithLabelValues("groupchat").Inc()
	m.refused.WithLabelValues("conflict").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 6 {
		t.Errorf("gathered %d metric families, want 6", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "xmppd_muc_") {
			t.Errorf("metric %q is not named xmppd_muc_…", mf.GetName())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "zero", cfg: Config{}, ok: true},
		{name: "negative occupants", cfg: Config{MaxOccupants: -1}},
		{name: "negative rate", cfg: Config{MessagesPerSecond: -1}},
		{name: "history off", cfg: Config{HistoryLength: -1}, ok: true},
		{name: "history too long", cfg: Config{HistoryLength: 10001}},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
