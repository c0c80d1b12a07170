package privacy

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// verdictLog keeps the "privacy verdict" records it is given.
type verdictLog struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (v *verdictLog) Enabled(context.Context, slog.Level) bool { return true }
func (v *verdictLog) WithAttrs([]slog.Attr) slog.Handler       { return v }
func (v *verdictLog) WithGroup(string) slog.Handler            { return v }
func (v *verdictLog) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	v.mu.Lock()
	v.recs = append(v.recs, m)
	v.mu.Unlock()
	return nil
}

func (v *verdictLog) take() []map[string]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	got := v.recs
	v.recs = nil
	return got
}

// debugRes is a resource with a debug switch, as a c2s.Session has.
type debugRes struct {
	*fakeRes
	on  bool
	log *slog.Logger
}

func (d *debugRes) Debugging() bool   { return d.on }
func (d *debugRes) Log() *slog.Logger { return d.log }

// TestVerdictTrace: the decisions of a debugged resource's lists are
// logged on its logger — inbound by the recipient's list, outbound and
// presence-out by the sender's — with the deciding item or "no match";
// a resource that is not debugged logs nothing.
func TestVerdictTrace(t *testing.T) {
	h := newHarness(t)
	plain := h.bind("alice@localhost/1")
	h.must(plain, "set", "<list name='work'>"+
		"<item type='jid' value='bob@localhost' action='deny' order='5'/>"+
		"<item type='jid' value='dave@localhost' action='allow' order='7'><message/></item>"+
		"</list>")
	h.must(plain, "set", "<default name='work'/>")

	rec := &verdictLog{}
	alice := &debugRes{fakeRes: &fakeRes{}, on: true, log: slog.New(rec)}
	alice.j = jid.MustParse("alice@localhost/2")
	h.svc.bind(context.Background(), alice)
	bob := h.bind("bob@localhost/x")

	presFrom := func(from string) *stanza.Element {
		return stanza.New(stanza.NSClient, "presence", "from", from)
	}
	tests := []struct {
		name  string
		run   func() bool // reports whether the stanza passed
		pass  bool
		want  map[string]string
		empty bool // no record expected
	}{
		{
			name: "inbound denied by a jid item",
			run:  func() bool { return h.svc.filterInbound(alice.j, alice, msgFrom("bob@localhost/x")) },
			want: map[string]string{"direction": "in", "list": "work", "stanza": "message", "type": "chat", "kind": "message",
				"peer": "bob@localhost/x", "verdict": "deny", "order": "5", "action": "deny", "item_type": "jid",
				"item_value": "bob@localhost", "blocklist": "true"},
		},
		{
			name: "inbound allowed by an item",
			run:  func() bool { return h.svc.filterInbound(alice.j, alice, msgFrom("dave@localhost/y")) },
			pass: true,
			want: map[string]string{"direction": "in", "verdict": "allow", "order": "7", "action": "allow",
				"item_value": "dave@localhost", "blocklist": "false", "peer": "dave@localhost/y"},
		},
		{
			name: "inbound with no matching item",
			run:  func() bool { return h.svc.filterInbound(alice.j, alice, msgFrom("carol@localhost/z")) },
			pass: true,
			want: map[string]string{"direction": "in", "list": "work", "verdict": "allow", "match": "none", "peer": "carol@localhost/z"},
		},
		{
			name: "outbound denied",
			run: func() bool {
				drop, _ := h.svc.outbound(h.svc.stateOf(alice), msgFrom(alice.j.String()), "bob@localhost", tracer(alice))
				return !drop
			},
			want: map[string]string{"direction": "out", "list": "work", "stanza": "message", "kind": "other",
				"peer": "bob@localhost", "verdict": "deny", "order": "5"},
		},
		{
			name: "presence-out of the sender's list, on the sender's trace",
			run:  func() bool { return h.svc.filterInbound(bob.j, bob, presFrom(alice.j.String())) },
			want: map[string]string{"direction": "out", "stanza": "presence", "kind": "presence-out",
				"peer": "bob@localhost/x", "verdict": "deny", "order": "5"},
		},
		{
			name:  "bob's own list (none) decides nothing on alice's trace",
			run:   func() bool { return h.svc.filterInbound(bob.j, bob, msgFrom(alice.j.String())) },
			pass:  true,
			empty: true,
		},
	}
	for _, tc := range tests {
		if got := tc.run(); got != tc.pass {
			t.Errorf("%s: passed = %v, want %v", tc.name, got, tc.pass)
		}
		recs := rec.take()
		if tc.empty {
			if len(recs) != 0 {
				t.Errorf("%s: records %v, want none", tc.name, recs)
			}
			continue
		}
		if len(recs) != 1 {
			t.Errorf("%s: %d records %v, want 1", tc.name, len(recs), recs)
			continue
		}
		if recs[0]["msg"] != "privacy verdict" || recs[0]["level"] != "DEBUG" {
			t.Errorf("%s: record %v, want a Debug \"privacy verdict\"", tc.name, recs[0])
		}
		for k, v := range tc.want {
			if recs[0][k] != v {
				t.Errorf("%s: %s = %q, want %q (%v)", tc.name, k, recs[0][k], v, recs[0])
			}
		}
	}

	// Switched off: the same decisions, nothing logged.
	alice.on = false
	if h.svc.filterInbound(alice.j, alice, msgFrom("bob@localhost/x")) {
		t.Error("inbound from bob passed with debug off")
	}
	h.svc.filterInbound(bob.j, bob, presFrom(alice.j.String()))
	if recs := rec.take(); len(recs) != 0 {
		t.Errorf("debug off: records %v", recs)
	}
}

// BenchmarkInboundUntraced is the inbound filter for a resource whose
// debug switch is off: the trace must add no allocation.
func BenchmarkInboundUntraced(b *testing.B) {
	h := newHarness(b)
	plain := h.bind("alice@localhost/1")
	h.must(plain, "set", "<list name='work'><item type='jid' value='bob@localhost' action='deny' order='5'/></list>")
	h.must(plain, "set", "<default name='work'/>")
	alice := &debugRes{fakeRes: &fakeRes{}, log: slog.New(slog.DiscardHandler)}
	alice.j = jid.MustParse("alice@localhost/2")
	h.svc.bind(context.Background(), alice)
	msg := msgFrom("carol@localhost/z")
	b.ReportAllocs()
	for b.Loop() {
		if !h.svc.filterInbound(alice.j, alice, msg) {
			b.Fatal("refused")
		}
	}
}
