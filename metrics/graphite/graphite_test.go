package graphite

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/metrics/graphite/carbontest"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{name: "zero", cfg: Config{}},
		{name: "full", cfg: Config{Address: "127.0.0.1:2003", Prefix: "xmppd.node-1", Interval: Duration(time.Minute)}},
		{name: "no port", cfg: Config{Address: "carbon"}, want: "metrics.graphite.address"},
		{name: "bad prefix", cfg: Config{Address: "c:2003", Prefix: "a..b"}, want: "metrics.graphite.prefix"},
		{name: "space prefix", cfg: Config{Address: "c:2003", Prefix: "a b"}, want: "metrics.graphite.prefix"},
		{name: "tiny interval", cfg: Config{Address: "c:2003", Interval: Duration(time.Millisecond)}, want: "metrics.graphite.interval"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestPushFailureCounted(t *testing.T) {
	reg := metrics.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := New(Config{Address: addr}, reg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(); err == nil {
		t.Fatal("Push to a closed port succeeded")
	}
	if err := p.Push(); err == nil {
		t.Fatal("second Push to a closed port succeeded")
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "xmppd_graphite_push_errors_total" && mf.GetMetric()[0].GetCounter().GetValue() == 2 {
			if err := metrics.Lint(reg, "graphite"); err != nil {
				t.Error(err)
			}
			return
		}
	}
	t.Error("xmppd_graphite_push_errors_total is not 2")
}

// TestPushReachesCarbon pushes a registry to a real carbon-cache and reads
// the counter back from the whisper file it writes.
func TestPushReachesCarbon(t *testing.T) {
	c := carbontest.Start(t)
	reg := metrics.New()
	pushed := prometheus.NewCounter(prometheus.CounterOpts{Name: "xmppd_graphitetest_bumps_total", Help: "test counter"})
	reg.MustRegister(pushed)
	pushed.Add(7)
	p, err := New(Config{Address: c.Addr, Prefix: "xmppd.testnode"}, reg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(); err != nil {
		t.Fatal(err)
	}
	c.Wait(t, "xmppd.testnode.xmppd_graphitetest_bumps_total", 30*time.Second, func(vals []float64) bool {
		return slices.Contains(vals, 7)
	})
}
