package instrumented

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppd/xmppd/debugtrace"
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

// traceRecord is one record a debugged session's logger received.
type traceRecord struct {
	msg   string
	attrs map[string]string
}

// recorder is a slog handler that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	recs []traceRecord
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	tr := traceRecord{msg: rec.Message, attrs: map[string]string{"level": rec.Level.String()}}
	rec.Attrs(func(a slog.Attr) bool {
		tr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, tr)
	r.mu.Unlock()
	return nil
}

// TestTrace: calls whose context carries a debugged session's logger are
// logged on it, one record each, with operation, key and outcome; other
// calls are not. Without a registerer the wrapper traces but keeps no
// metrics.
func TestTrace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metrics bool
	}{{"with metrics", true}, {"trace only", false}} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := pebble.Open(t.TempDir(), pebble.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var reg *prometheus.Registry
			var b *Backend
			if tc.metrics {
				reg = metrics.New()
				b, err = New(db, "embedded", reg)
			} else {
				b, err = New(db, "riak", nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			traced := debugtrace.WithLogger(context.Background(), slog.New(rec))
			plain := context.Background()
			k := storage.Key{Kind: "roster", User: "alice@localhost"}

			if err := b.KV().Put(plain, storage.Key{Kind: "account", User: "bob@localhost"}, []byte("secret")); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Documents().Get(traced, k); err != nil {
				t.Fatal(err)
			}
			if _, err := b.KV().Get(traced, storage.Key{Kind: "account", User: "nobody@localhost"}); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Get(missing) = %v", err)
			}
			if err := b.KV().Put(traced, storage.Key{Kind: "account", User: "alice@localhost"}, []byte("hunter2")); err != nil {
				t.Fatal(err)
			}
			if _, err := b.KV().List(traced, "account"); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Queues().Push(traced, storage.Key{Kind: "offline", User: "carol@localhost"}, []byte("m"), 0); err != nil {
				t.Fatal(err)
			}

			want := []map[string]string{
				{"op": "documents.get", "key": "roster/alice@localhost", "outcome": "ok"},
				{"op": "kv.get", "key": "account/nobody@localhost", "outcome": "not_found"},
				{"op": "kv.put", "key": "account/alice@localhost", "outcome": "ok"},
				{"op": "kv.list", "kind": "account", "outcome": "ok"},
				{"op": "queues.push", "key": "offline/carol@localhost", "outcome": "ok"},
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.recs) != len(want) {
				t.Fatalf("%d trace records, want %d: %+v", len(rec.recs), len(want), rec.recs)
			}
			backend := "riak"
			if tc.metrics {
				backend = "embedded"
			}
			for i, w := range want {
				got := rec.recs[i]
				if got.msg != "storage" || got.attrs["level"] != "DEBUG" || got.attrs["backend"] != backend || got.attrs["duration"] == "" {
					t.Errorf("record %d = %+v, want a Debug \"storage\" record of %s with a duration", i, got, backend)
				}
				for key, v := range w {
					if got.attrs[key] != v {
						t.Errorf("record %d: %s = %q, want %q (%+v)", i, key, got.attrs[key], v, got.attrs)
					}
				}
				if _, hasErr := got.attrs["err"]; hasErr != (w["outcome"] != "ok") ||
					hasErr && !strings.Contains(got.attrs["err"], storage.ErrNotFound.Error()) {
					t.Errorf("record %d: err %q with outcome %s", i, got.attrs["err"], w["outcome"])
				}
				for _, v := range got.attrs {
					if strings.Contains(v, "hunter2") || strings.Contains(v, "secret") {
						t.Errorf("record %d logs a stored value: %+v", i, got.attrs)
					}
				}
			}
			if tc.metrics {
				if n := testutil.CollectAndCount(reg, "xmppd_storage_operation_duration_seconds"); n < 5 {
					t.Errorf("%d duration series, want the traced and untraced calls timed", n)
				}
			} else if b.kv.get.dur != nil {
				t.Error("metrics without a registerer")
			}
		})
	}
}

// BenchmarkGet compares a KV get on the bare backend, through the wrapper
// with an untraced context (what every session that is not debugged
// pays), and with a traced one (to a discarding logger).
func BenchmarkGet(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), pebble.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w, err := New(db, "embedded", metrics.New())
	if err != nil {
		b.Fatal(err)
	}
	k := storage.Key{Kind: "account", User: "alice@localhost"}
	if err := w.KV().Put(context.Background(), k, []byte("x")); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		kv   storage.KV
		ctx  context.Context
	}{
		{"bare", db.KV(), context.Background()},
		{"untraced", w.KV(), context.Background()},
		{"traced", w.KV(), debugtrace.WithLogger(context.Background(), slog.New(slog.DiscardHandler))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.kv.Get(bc.ctx, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
