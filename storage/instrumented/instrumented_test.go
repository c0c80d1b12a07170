package instrumented

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
	"github.com/xmppd/xmppd/storage/storagetest"
)

func open(t *testing.T, dir string) *Backend {
	t.Helper()
	db, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(db, "embedded", metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformance: the wrapper changes nothing a feature can see.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	dirs := map[storage.Backend]string{}
	storagetest.Run(t, storagetest.Harness{
		Open: func(t *testing.T) storage.Backend {
			dir := t.TempDir()
			b := open(t, dir)
			mu.Lock()
			dirs[b] = dir
			mu.Unlock()
			return b
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			mu.Lock()
			dir := dirs[b]
			mu.Unlock()
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			nb := open(t, dir)
			mu.Lock()
			dirs[nb] = dir
			mu.Unlock()
			return nb
		},
	})
}

func TestCountsOperationsAndFailures(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New()
	b, err := New(db, "embedded", reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := storage.Key{Kind: "account", User: "alice@localhost"}
	if err := b.KV().Put(ctx, k, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KV().Get(ctx, storage.Key{Kind: "account", User: "nobody@localhost"}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(missing) = %v", err)
	}
	if err := b.KV().Create(ctx, k, []byte("y")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("Create(existing) = %v", err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := b.KV().Get(ctx, k); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}

	if n := testutil.CollectAndCount(b.kv.get.m.duration); n < 4 {
		t.Errorf("%d duration series, want at least kv get/put/create and ping", n)
	}
	want := `
# HELP xmppd_storage_operation_errors_total Storage operations that failed (not found, exists and queue full are outcomes, not failures), by backend, shape, operation and error kind.
# TYPE xmppd_storage_operation_errors_total counter
xmppd_storage_operation_errors_total{backend="embedded",error="closed",op="get",shape="kv"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "xmppd_storage_operation_errors_total"); err != nil {
		t.Error(err)
	}
	if err := metrics.Lint(reg, "storage"); err != nil {
		t.Error(err)
	}
}
