package lastactivity

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

type fakeRes struct {
	j         jid.JID
	available bool
}

func (f *fakeRes) JID() jid.JID                  { return f.j }
func (f *fakeRes) Available() (bool, int)        { return f.available, 0 }
func (f *fakeRes) LastPresence() *stanza.Element { return nil }
func (f *fakeRes) Send(*stanza.Element) error    { return nil }

type fakeDir map[string][]c2s.Resource

func (d fakeDir) Resources(bare string) []c2s.Resource { return d[bare] }
func (d fakeDir) Bind(c2s.Resource) c2s.Resource       { return nil }
func (d fakeDir) Unbind(c2s.Resource)                  {}
func (d fakeDir) Len() int                             { return len(d) }

func TestUptimeAndContacts(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// alice lets bob see her presence; carol is on no one's roster.
	subs := map[string]bool{"alice@x|bob@x": true}
	reg := prometheus.NewRegistry()
	s, err := New(Options{
		KV: db.KV(), Metrics: reg, Started: now.Add(-90 * time.Second), Now: func() time.Time { return now },
		Subscribed: func(_ context.Context, owner, requester string) (bool, error) { return subs[owner+"|"+requester], nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := stanza.New(NS, "query")
	up, err := s.uptime(ctx, &c2s.IQ{Type: "get", Payload: get})
	if err != nil || up.Get("seconds") != "90" {
		t.Errorf("uptime = %v, %v; want 90 seconds", up, err)
	}
	if _, err := s.uptime(ctx, &c2s.IQ{Type: "set", Payload: get}); c2s.AsStanzaError(err).Condition != c2s.CondBadRequest {
		t.Errorf("uptime set: %v, want bad-request", err)
	}

	aliceRes := &fakeRes{j: jid.MustParse("alice@x/phone"), available: true}
	dir := fakeDir{"alice@x": {aliceRes}}
	ask := func(from, to string) (*stanza.Element, string) {
		res, err := s.contact(ctx, &c2s.IQ{From: jid.MustParse(from), To: jid.MustParse(to), Type: "get", Payload: get}, dir)
		if err != nil {
			return nil, string(c2s.AsStanzaError(err).Condition)
		}
		return res, ""
	}
	if _, cond := ask("bob@x/b", "alice@x"); cond != "" {
		t.Fatalf("online: %s", cond)
	} else if res, _ := ask("bob@x/b", "alice@x"); res.Get("seconds") != "0" {
		t.Errorf("online contact: %s, want 0 seconds", res)
	}
	if _, cond := ask("carol@x/c", "alice@x"); cond != "forbidden" {
		t.Errorf("unsubscribed requester: %q, want forbidden", cond)
	}
	subs["dave@x|bob@x"] = true
	if _, cond := ask("bob@x/b", "dave@x"); cond != "item-not-found" {
		t.Errorf("never seen offline: %q, want item-not-found", cond)
	}

	// alice has two resources; one goes away: nothing recorded yet.
	other := &fakeRes{j: jid.MustParse("alice@x/pc"), available: true}
	dir["alice@x"] = []c2s.Resource{aliceRes, other}
	aliceRes.available = false
	s.loggedOut(ctx, dir, "alice@x", "lunch")
	if _, err := db.KV().Get(ctx, storage.Key{Kind: Kind, User: "alice@x"}); err == nil {
		t.Error("recorded a logout while another resource is available")
	}
	dir["alice@x"] = []c2s.Resource{other}
	other.available = false
	now = now.Add(10 * time.Second)
	s.loggedOut(ctx, dir, "alice@x", "gone home")
	dir["alice@x"] = nil
	now = now.Add(25 * time.Second)
	res, cond := ask("bob@x/b", "alice@x")
	if cond != "" || res.Get("seconds") != "25" || res.Text() != "gone home" {
		t.Errorf("offline contact: %v %s, want 25 seconds and the last status", res, cond)
	}
	// The owner asks about their own account: no roster check.
	self, err := s.self(ctx, &c2s.IQ{From: jid.MustParse("alice@x/phone"), Type: "get", Payload: get}, dir)
	if err != nil || self.Get("seconds") != "25" {
		t.Errorf("own account: %v %v, want 25 seconds", self, err)
	}
	dir["alice@x"] = []c2s.Resource{aliceRes}
	aliceRes.available = true
	if self, err := s.self(ctx, &c2s.IQ{From: jid.MustParse("alice@x/phone"), Type: "get", Payload: get}, dir); err != nil || self.Get("seconds") != "0" {
		t.Errorf("own account while online: %v %v, want 0 seconds", self, err)
	}
	if _, err := s.self(ctx, &c2s.IQ{From: jid.MustParse("alice@x/phone"), Type: "set", Payload: get}, dir); c2s.AsStanzaError(err).Condition != c2s.CondBadRequest {
		t.Errorf("own account set: %v, want bad-request", err)
	}
	if err := metrics.Lint(reg, "lastactivity"); err != nil {
		t.Error(err)
	}
}
