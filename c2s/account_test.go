package c2s

import (
	"context"
	"sync"
	"testing"
	"time"
)

// removalRecorder records the close hooks and account-removed hooks in
// the order they ran.
type removalRecorder struct {
	mu      sync.Mutex
	events  []string
	removed chan string
}

func (f *removalRecorder) Register(r *Registry) error {
	r.OnClosed(func(_ context.Context, s *Session) { f.add("closed " + s.JID().String()) })
	r.OnAccountRemoved(func(_ context.Context, bare string) {
		f.add("removed " + bare)
		f.removed <- bare
	})
	return nil
}

func (f *removalRecorder) add(e string) {
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
}

func TestInBandRemovalClosesEverySessionThenRunsHooks(t *testing.T) {
	rec := &removalRecorder{removed: make(chan string, 1)}
	ts := newTestServer(t, Config{}, map[string]string{"alice": "pw"}, rec)
	a := dialClient(t, ts.addr, "alice", "pw", "a")
	b := dialClient(t, ts.addr, "alice", "pw", "b")

	a.send(`<iq type='set' id='r1'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	for name, c := range map[string]*testClient{"remover": a, "other": b} {
		if cond := c.streamError(); cond != "not-authorized" {
			t.Errorf("%s session: stream error %q, want not-authorized", name, cond)
		}
	}
	select {
	case bare := <-rec.removed:
		if bare != "alice@localhost" {
			t.Errorf("hook got %q", bare)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnAccountRemoved did not run")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := len(rec.events); n != 3 || rec.events[2] != "removed alice@localhost" {
		t.Errorf("events %q: want both sessions closed before the removal hook", rec.events)
	}
	if ok, _ := ts.acc.Exists(context.Background(), "alice"); ok {
		t.Error("account still exists")
	}
}

func TestCloseAccountWaitsForCloseHooks(t *testing.T) {
	rec := &removalRecorder{removed: make(chan string, 1)}
	ts := newTestServer(t, Config{}, map[string]string{"alice": "pw", "bob": "pw"}, rec)
	a1 := dialClient(t, ts.addr, "alice", "pw", "a1")
	a2 := dialClient(t, ts.addr, "alice", "pw", "a2")
	dialClient(t, ts.addr, "bob", "pw", "b")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := ts.CloseAccount(ctx, "alice@localhost", "account deleted")
	if err != nil || n != 2 {
		t.Fatalf("CloseAccount = %d, %v; want 2 closed", n, err)
	}
	rec.mu.Lock()
	closed := len(rec.events)
	rec.mu.Unlock()
	if closed != 2 {
		t.Errorf("close hooks run when CloseAccount returned: %d, want 2", closed)
	}
	for _, c := range []*testClient{a1, a2} {
		if cond := c.streamError(); cond != "not-authorized" {
			t.Errorf("stream error %q, want not-authorized", cond)
		}
	}
	if got := len(ts.Directory().Resources("bob@localhost")); got != 1 {
		t.Errorf("bob has %d sessions, want 1 (untouched)", got)
	}
	if _, err := ts.CloseAccount(ctx, "not a jid@", ""); err == nil {
		t.Error("CloseAccount accepted an invalid JID")
	}
}
