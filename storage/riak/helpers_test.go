package riak

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage/riak/riaktest"
)

// testTypes are the bucket types of docs/riak.md, as the test cluster has them.
var testTypes = map[string]riaktest.BucketProps{
	"xmppd_docs": {AllowMult: true, DVVEnabled: true},
	"xmppd_kv":   {AllowMult: false},
}

// startCluster starts a test cluster of n nodes, closed with the test.
func startCluster(t *testing.T, n int) *riaktest.Cluster {
	t.Helper()
	c := riaktest.NewCluster(riaktest.Options{BucketTypes: testTypes})
	t.Cleanup(func() { c.Close() })
	for i := 0; i < n; i++ {
		if _, err := c.StartNode(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// testConfig is a config for addrs with timeouts short enough for tests.
func testConfig(addrs []string) Config {
	return Config{
		Nodes:               addrs,
		ConnectTimeout:      Duration(500 * time.Millisecond),
		RequestTimeout:      Duration(300 * time.Millisecond),
		RetryBackoff:        Duration(20 * time.Millisecond),
		MaxRetryBackoff:     Duration(200 * time.Millisecond),
		HealthCheckInterval: Duration(25 * time.Millisecond),
	}
}

// realRiak returns the nodes of XMPPD_RIAK_ADDR, or nil.
func realRiak() []string {
	v := os.Getenv("XMPPD_RIAK_ADDR")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func open(t *testing.T, cfg Config) *Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}
