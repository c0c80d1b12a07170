package c2s

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// deliveredRecorder records what MessageDeliveredHooks see as "id>res,res".
type deliveredRecorder struct {
	mu  sync.Mutex
	got []string
}

func (d *deliveredRecorder) Register(r *Registry) error {
	r.OnMessageDelivered(func(_ context.Context, to jid.JID, msg *stanza.Element, rs []Resource) {
		var names []string
		for _, r := range rs {
			names = append(names, r.JID().Resourcepart())
		}
		sort.Strings(names)
		d.mu.Lock()
		d.got = append(d.got, msg.Get("id")+">"+to.String()+"/"+strings.Join(names, ","))
		d.mu.Unlock()
	})
	return nil
}

func TestMessageDeliveredHook(t *testing.T) {
	checkNoGoroutineLeak(t)
	d := &deliveredRecorder{}
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b", "carol": "pw-c"}, d)
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b1 := dialClient(t, srv.addr, "bob", "pw-b", "hi")
	b2 := dialClient(t, srv.addr, "bob", "pw-b", "lo")
	b1.send(`<presence><priority>5</priority></presence>`)
	b1.expectStart("presence")
	b2.send(`<presence/>`)
	b2.expectStart("presence")
	a.send(fmtMsg("bob@localhost/lo", "m1", "full"))
	a.send(fmtMsg("bob@localhost", "m2", "bare"))
	a.send(`<message to='bob@localhost' id='m3' type='headline'><body>h</body></message>`)
	a.send(fmtMsg("carol@localhost", "m4", "offline: no hook"))
	a.send(fmtMsg("bob@localhost/gone", "m5", "no such resource: as to the bare JID"))
	b1.expectMessages("m2", "m3", "m5")
	if el := a.next(); el.Get("id") != "m4" || el.Get("type") != "error" {
		t.Fatalf("offline without storage: got %s, want an error for m4", el)
	}
	// The hooks run in alice's session after each delivery: once it has
	// answered a ping sent after m5, m5's hooks have run.
	a.send(`<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if el := a.next(); el.Get("id") != "sync" || el.Get("type") != "result" {
		t.Fatalf("ping: got %s", el)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	want := []string{"m1>bob@localhost/lo", "m2>bob@localhost/hi", "m3>bob@localhost/hi,lo", "m5>bob@localhost/hi"}
	if !equalStrings(d.got, want) {
		t.Errorf("delivered hooks saw %v, want %v", d.got, want)
	}
}
