package riak

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/storagetest"
)

// TestConformance runs the shared suite against a two-node test cluster.
func TestConformance(t *testing.T) {
	storagetest.Run(t, harness(t, func(t *testing.T) Config {
		return testConfig(startCluster(t, 2).Addrs())
	}))
}

// TestConformanceRealRiak runs the suite against the Riak nodes listed in
// XMPPD_RIAK_ADDR (comma-separated host:port), each Open in fresh buckets.
func TestConformanceRealRiak(t *testing.T) {
	nodes := realRiak()
	if nodes == nil {
		t.Skip("XMPPD_RIAK_ADDR not set")
	}
	storagetest.Run(t, harness(t, func(t *testing.T) Config {
		return Config{Nodes: nodes}
	}))
}

// harness opens each backend with its own bucket prefix in the cluster
// that fresh makes, and reopens it on the same prefix.
func harness(t *testing.T, fresh func(t *testing.T) Config) storagetest.Harness {
	return storagetest.Harness{
		Open: func(t *testing.T) storage.Backend {
			cfg := fresh(t)
			cfg.BucketPrefix = "t" + randomHex() + "."
			return open(t, cfg)
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			cfg := b.(*Backend).cfg
			if err := b.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, cfg)
		},
	}
}

func randomHex() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
