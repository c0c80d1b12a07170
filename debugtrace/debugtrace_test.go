package debugtrace

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var debugDiscard = slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})

func newHub(t *testing.T) (*Hub, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

func TestRoutingByJID(t *testing.T) {
	h, _ := newHub(t)
	var out bytes.Buffer
	base := slog.New(h.Handler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	alicePhone := base.With("session", "1", "jid", "alice@example.net/phone")
	aliceLaptop := base.With("session", "2", "jid", "alice@example.net/laptop")
	base.With("session", "3", "jid", "bob@example.net/x").Debug("bob recv")
	unbound := base.With("session", "4")

	watch := func(target string) *Watcher {
		w, err := h.Watch(target, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	bare, phone, bobW := watch("alice@example.net"), watch("alice@example.net/phone"), watch("bob@example.net")

	alicePhone.Debug("recv", "xml", "<message/>")
	aliceLaptop.WithGroup("g").Debug("send", "xml", "<iq/>")
	unbound.Debug("connected")

	for _, tc := range []struct {
		name string
		w    *Watcher
		want []string // "jid msg"
	}{
		{"bare sees every session", bare, []string{"alice@example.net/phone recv", "alice@example.net/laptop send"}},
		{"full sees one session", phone, []string{"alice@example.net/phone recv"}},
		{"another user sees nothing", bobW, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, dropped := tc.w.Next()
			if dropped != 0 {
				t.Errorf("dropped %d", dropped)
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.JID+" "+e.Message)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if n := strings.Count(out.String(), "\n"); n != 4 {
		t.Errorf("the wrapped handler got %d records, want 4:\n%s", n, out.String())
	}
}

func TestAttrs(t *testing.T) {
	h, _ := newHub(t)
	w, _ := h.Watch("alice@example.net", 0)
	defer w.Close()
	l := slog.New(h.Handler(debugDiscard)).With("session", "7", "jid", "alice@example.net/a")
	l.WithGroup("route").Debug("routed", "outcome", "delivered", slog.Group("to", "jid", "bob@example.net"))
	evs, _ := w.Next()
	if len(evs) != 1 {
		t.Fatalf("got %d events", len(evs))
	}
	for k, v := range map[string]any{"session": "7", "jid": "alice@example.net/a", "route.outcome": "delivered", "route.to.jid": "bob@example.net"} {
		if evs[0].Attrs[k] != v {
			t.Errorf("attr %s = %v, want %v (all %v)", k, evs[0].Attrs[k], v, evs[0].Attrs)
		}
	}
	if evs[0].Level != "DEBUG" {
		t.Errorf("level %q", evs[0].Level)
	}
}

// TestSlowWatcher fills a watcher's queue: publishing never blocks, the
// excess is counted, and the first event after the gap says how many were
// lost there.
func TestSlowWatcher(t *testing.T) {
	h, reg := newHub(t)
	w, _ := h.Watch("alice@example.net", 3)
	defer w.Close()
	l := slog.New(h.Handler(debugDiscard)).With("jid", "alice@example.net/a")
	for i := range 10 {
		l.Debug("m", "i", i)
	}
	evs, after := w.Next()
	if len(evs) != 3 || after != 7 {
		t.Fatalf("got %d events, %d dropped after, want 3 and 7", len(evs), after)
	}
	// Events 0-2 queue, 3-4 are dropped and reported after them; then
	// a drop before the next queued event is reported on it.
	for i := range 5 {
		l.Debug("m", "i", i)
	}
	if evs, after = w.Next(); len(evs) != 3 || after != 2 {
		t.Fatalf("got %d events, %d dropped after, want 3 and 2", len(evs), after)
	}
	for i := range 4 {
		l.Debug("m", "i", i)
	}
	w.mu.Lock()
	w.queue = w.queue[:0] // the reader took them without a Next
	w.mu.Unlock()
	l.Debug("after the gap")
	evs, after = w.Next()
	if len(evs) != 1 || after != 0 || evs[0].Dropped != 1 || evs[0].Message != "after the gap" {
		t.Fatalf("got %+v, %d after; want one event with dropped=1", evs, after)
	}
	if got := testutil.ToFloat64(h.mDropped); got != 10 {
		t.Errorf("dropped counter %v, want 10", got)
	}
	if n, err := testutil.GatherAndCount(reg, "xmppd_debugtrace_watchers"); err != nil || n != 1 {
		t.Errorf("watchers metric: %d %v", n, err)
	}
}

func TestCloseAndBadTarget(t *testing.T) {
	h, _ := newHub(t)
	if _, err := h.Watch("@@bad", 0); err == nil {
		t.Error("watching an invalid JID succeeded")
	}
	w, _ := h.Watch("alice@example.net", 0)
	w.Close()
	w.Close()
	if h.n.Load() != 0 || len(h.watchers) != 0 {
		t.Errorf("watchers left after close: %d %v", h.n.Load(), h.watchers)
	}
	slog.New(h.Handler(debugDiscard)).With("jid", "alice@example.net/a").Debug("x")
	if evs, _ := w.Next(); len(evs) != 0 {
		t.Errorf("a closed watcher got %d events", len(evs))
	}
}

func TestLoggerInContext(t *testing.T) {
	if l := Logger(context.Background()); l != nil {
		t.Errorf("Logger(Background) = %v, want nil", l)
	}
	base := context.Background()
	if ctx := WithLogger(base, nil); ctx != base {
		t.Error("WithLogger(ctx, nil) returned a new context")
	}
	l := slog.New(debugDiscard)
	ctx, cancel := context.WithCancel(WithLogger(base, l))
	defer cancel()
	if got := Logger(ctx); got != l {
		t.Errorf("Logger of a derived context = %v, want the logger put in", got)
	}
}
