package c2s

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage/pebble"
)

type gatedFeature struct{}

func (gatedFeature) Register(r *Registry) error {
	r.ServerFeature("urn:test:gated", "urn:test:open")
	r.AccountFeature("urn:test:gated")
	return nil
}

// TestAdvertisePerUser: Options.Advertise decides, per requester, which
// features disco#info lists (the feature-toggle rollout hook).
func TestAdvertisePerUser(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := auth.NewAccounts(db.KV(), "localhost", auth.Config{})
	acc.Add(context.Background(), "alice", "pw")
	srv, err := NewServer(Config{}, Options{Metrics: prometheus.NewRegistry(), Accounts: acc, TLS: testTLSConfig(t),
		Features: []Feature{gatedFeature{}},
		Advertise: func(user jid.JID, feature string) bool {
			return feature != "urn:test:gated" || user.Localpart() == "alice"
		}})
	if err != nil {
		t.Fatal(err)
	}
	features := func(from, to string) map[string]bool {
		q, err := srv.discoInfo(context.Background(), &IQ{From: jid.MustParse(from), To: jid.MustParse(to), Type: "get",
			Payload: stanza.New(nsDiscoInfo, "query")})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range q.Elements() {
			if f.Name.Local == "feature" {
				got[f.Get("var")] = true
			}
		}
		return got
	}
	tests := []struct {
		from, to, feature string
		want              bool
	}{
		{from: "alice@localhost/a", to: "localhost", feature: "urn:test:gated", want: true},
		{from: "bob@localhost/b", to: "localhost", feature: "urn:test:gated", want: false},
		{from: "bob@localhost/b", to: "localhost", feature: "urn:test:open", want: true},
		{from: "alice@localhost/a", to: "alice@localhost", feature: "urn:test:gated", want: true},
		{from: "bob@localhost/b", to: "alice@localhost", feature: "urn:test:gated", want: false},
	}
	for _, tt := range tests {
		if got := features(tt.from, tt.to)[tt.feature]; got != tt.want {
			t.Errorf("disco#info of %s asked by %s lists %s = %v, want %v", tt.to, tt.from, tt.feature, got, tt.want)
		}
	}
}
