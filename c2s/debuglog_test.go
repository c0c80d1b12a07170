package c2s

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/debugtrace"
	"github.com/xmppd/xmppd/stanza"
)

func TestDebugUntil(t *testing.T) {
	srv := newTestServer(t, Config{}, nil)
	soon, later := time.Now().Add(time.Hour).Truncate(time.Second), time.Now().Add(2*time.Hour).Truncate(time.Second)
	if err := srv.SetDebug("alice@localhost", soon); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDebug("bob@localhost/phone", later); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDebug("carol@localhost", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   time.Time
	}{
		{"alice@localhost", soon},
		{"alice@localhost/any", soon},  // the account's switch covers it
		{"bob@localhost", later},       // a resource's switch: the account is watched
		{"bob@localhost/phone", later}, //
		{"bob@localhost/laptop", time.Time{}},
		{"bobby@localhost", time.Time{}}, // not a prefix match on the localpart
		{"carol@localhost", time.Time{}}, // expired
		{"dave@localhost", time.Time{}},  // never on
		{"@bad", time.Time{}},
	} {
		if got := srv.DebugUntil(tc.target); !got.Equal(tc.want) {
			t.Errorf("DebugUntil(%q) = %v, want %v", tc.target, got, tc.want)
		}
	}
	srv.SetDebug("alice@localhost", time.Time{})
	if got := srv.DebugUntil("alice@localhost"); !got.IsZero() {
		t.Errorf("after switching off: %v", got)
	}
}

// traceProbe records, per session JID, whether the contexts the core
// passed to its hook and handler carried a trace logger.
type traceProbe struct {
	mu    sync.Mutex
	bound map[string]bool
	iq    map[string]bool
}

func (p *traceProbe) Register(r *Registry) error {
	r.OnBound(func(ctx context.Context, s *Session) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.bound[s.JID().String()] = debugtrace.Logger(ctx) != nil
	})
	r.HandleIQ("urn:xmppd:test:trace", ToServer, func(ctx context.Context, iq *IQ) (*stanza.Element, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		l := debugtrace.Logger(ctx)
		p.iq[iq.From.String()] = l != nil && iq.Session.Debugging()
		return nil, nil
	})
	return nil
}

// TestTraceContext: the contexts of a debugged session carry its logger
// (debugtrace.Logger), those of other sessions do not.
func TestTraceContext(t *testing.T) {
	p := &traceProbe{bound: map[string]bool{}, iq: map[string]bool{}}
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw", "bob": "pw"}, p)
	if err := srv.SetDebug("alice@localhost", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "bob"} {
		c := dialClient(t, srv.addr, user, "pw", "r")
		c.send(`<iq type='get' id='t1' to='localhost'><q xmlns='urn:xmppd:test:trace'/></iq>`)
		if res := c.next(); res.Get("type") != "result" {
			t.Fatalf("%s: probe answered %s", user, res)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tc := range []struct {
		jid  string
		want bool
	}{{"alice@localhost/r", true}, {"bob@localhost/r", false}} {
		if got := p.bound[tc.jid]; got != tc.want {
			t.Errorf("OnBound ctx of %s carries a trace logger: %v, want %v", tc.jid, got, tc.want)
		}
		if got := p.iq[tc.jid]; got != tc.want {
			t.Errorf("IQ handler ctx of %s carries a trace logger (and Debugging): %v, want %v", tc.jid, got, tc.want)
		}
	}
}
