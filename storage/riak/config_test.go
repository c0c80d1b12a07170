package riak

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/prometheus/client_golang/prometheus"

	xmetrics "github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/storage"
)

func TestConfigValidate(t *testing.T) {
	ok := []string{"127.0.0.1:8087"}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{name: "minimal", cfg: Config{Nodes: ok}},
		{name: "no nodes", cfg: Config{}, want: "nodes: at least one"},
		{name: "node without port", cfg: Config{Nodes: []string{"riak1"}}, want: `nodes: "riak1"`},
		{name: "node twice", cfg: Config{Nodes: []string{"a:1", "a:1"}}, want: "listed twice"},
		{name: "negative timeout", cfg: Config{Nodes: ok, RequestTimeout: -1}, want: "request_timeout"},
		{name: "min over max", cfg: Config{Nodes: ok, MinConnections: 5, MaxConnections: 2}, want: "min_connections exceeds"},
		{name: "same bucket types", cfg: Config{Nodes: ok, DocumentsBucketType: "t", KVBucketType: "t"}, want: "must differ"},
		{name: "slash in prefix", cfg: Config{Nodes: ok, BucketPrefix: "a/b"}, want: "bucket_prefix"},
		{name: "negative max value", cfg: Config{Nodes: ok, MaxValueBytes: -1}, want: "max_value_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigDecodesTOML(t *testing.T) {
	var c Config
	_, err := toml.Decode(`
nodes = ["a:8087", "b:8087"]
request_timeout = "250ms"
retries = -1
documents_bucket_type = "docs"
`, &c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.withDefaults()
	if len(d.Nodes) != 2 || time.Duration(d.RequestTimeout) != 250*time.Millisecond || d.Retries != 0 ||
		d.DocumentsBucketType != "docs" || d.KVBucketType != "xmppd_kv" || time.Duration(d.ConnectTimeout) != 3*time.Second {
		t.Errorf("decoded with defaults: %+v", d)
	}
}

func TestMetricNames(t *testing.T) {
	c := startCluster(t, 1)
	reg := prometheus.NewRegistry()
	cfg := testConfig(c.Addrs())
	cfg.Registerer = reg
	b := open(t, cfg)
	defer b.Close()
	ctx := context.Background()
	k := storage.Key{Kind: "roster", User: "a@example.com"}
	if err := b.Documents().Put(ctx, k, nil, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Documents().Get(ctx, k); err != nil {
		t.Fatal(err)
	}
	// A second backend on the same registry shares the series.
	b2 := open(t, cfg)
	b2.Close()
	if err := xmetrics.Lint(reg, "riak"); err != nil {
		t.Error(err)
	}
	n, err := reg.Gather()
	if err != nil || len(n) < 3 {
		t.Errorf("gathered %d families, %v; want the operation, latency and sibling series", len(n), err)
	}
}
