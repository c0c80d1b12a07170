package c2s

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/storage/pebble"
)

// TestAuthThrottleCounted: an attempt the per-address throttle delays is
// counted with its delay; one from an address with a clean record is not.
func TestAuthThrottleCounted(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := auth.NewAccounts(db.KV(), "localhost", auth.Config{})
	if err := acc.Add(context.Background(), "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	thr := auth.NewThrottle(1, nil)
	reg := prometheus.NewRegistry()
	srv, err := NewServer(Config{}, Options{Metrics: reg, Accounts: acc, TLS: testTLSConfig(t), Throttle: thr})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeSTARTTLS(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})

	// A clean record: no delay, nothing counted.
	dialClient(t, ln.Addr().String(), "alice", "secret", "a")
	if got := testutil.ToFloat64(srv.m.authThrottled); got != 0 {
		t.Fatalf("xmppd_c2s_auth_throttled_total = %v after an undelayed login, want 0", got)
	}

	// One failure reaches the limit of 1 per minute: the next attempt
	// waits, and success clears the record again.
	thr.Failure(netip.MustParseAddr("127.0.0.1"))
	want := thr.Delay(netip.MustParseAddr("127.0.0.1"))
	if want <= 0 {
		t.Fatal("throttle set up without a delay")
	}
	dialClient(t, ln.Addr().String(), "alice", "secret", "b")
	dialClient(t, ln.Addr().String(), "alice", "secret", "c")
	if got := testutil.ToFloat64(srv.m.authThrottled); got != 1 {
		t.Errorf("xmppd_c2s_auth_throttled_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(srv.m.authThrottledSeconds); got != want.Seconds() {
		t.Errorf("xmppd_c2s_auth_throttled_seconds_total = %v, want %v", got, want.Seconds())
	}
	n, err := testutil.GatherAndCount(reg, "xmppd_c2s_auth_throttled_total", "xmppd_c2s_auth_throttled_seconds_total")
	if err != nil || n != 2 {
		t.Errorf("registered throttle metrics: %d, %v; want 2", n, err)
	}
}
