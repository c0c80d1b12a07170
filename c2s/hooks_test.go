package c2s

import (
	"context"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// hookFeature records what the message hooks see and decorates presence.
type hookFeature struct {
	mu   sync.Mutex
	sent []string // ids
	in   []string // "id>to"
}

func (f *hookFeature) Register(r *Registry) error {
	r.OnMessageSent(func(_ context.Context, s *Session, msg *stanza.Element) {
		f.mu.Lock()
		f.sent = append(f.sent, msg.Get("id"))
		f.mu.Unlock()
	})
	r.OnMessageIn(func(_ context.Context, to jid.JID, msg *stanza.Element) {
		f.mu.Lock()
		f.in = append(f.in, msg.Get("id")+">"+to.String())
		f.mu.Unlock()
		msg.Append(stanza.New("urn:test", "seen", "by", to.String()))
	})
	r.DecoratePresence(func(_ context.Context, s *Session, p *stanza.Element) {
		p.Append(stanza.New("urn:test", "decorated"))
	})
	return nil
}

func (f *hookFeature) seen() (sent, in []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...), append([]string(nil), f.in...)
}

func TestMessageAndPresenceHooks(t *testing.T) {
	checkNoGoroutineLeak(t)
	f := &hookFeature{}
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"}, f)
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	b.send(`<presence/>`)
	if p := b.expectStart("presence"); p.Child("urn:test", "decorated") == nil {
		t.Errorf("echoed presence not decorated: %s", p)
	}
	a.send(fmtMsg("bob@localhost/two", "m1", "hi"))
	a.send(`<message to='bob@localhost' id='m2' type='headline'><body>h</body></message>`)
	a.send(`<message to='nobody@localhost' id='m3' type='chat'><body>x</body></message>`)
	a.send(fmtMsg("bob@localhost", "m4", "again"))
	var got []*stanza.Element
	for len(got) < 3 {
		if el := b.next(); el.Name.Local == "message" {
			got = append(got, el)
		}
	}
	if s := got[0].Child("urn:test", "seen"); s == nil || s.Get("by") != "bob@localhost" {
		t.Errorf("chat to full JID: hook child missing or wrong: %s", got[0])
	}
	if got[1].Child("urn:test", "seen") != nil {
		t.Errorf("headline passed the MessageInHook: %s", got[1])
	}
	if got[2].Child("urn:test", "seen") == nil {
		t.Errorf("chat to bare JID: hook child missing: %s", got[2])
	}
	if el := a.next(); el.Get("type") != "error" || el.Get("id") != "m3" {
		t.Errorf("message to a missing account: got %s, want an error", el)
	}
	sent, in := f.seen()
	if want := []string{"m1", "m2", "m3", "m4"}; !equalStrings(sent, want) {
		t.Errorf("sent hooks saw %v, want %v", sent, want)
	}
	if want := []string{"m1>bob@localhost", "m4>bob@localhost"}; !equalStrings(in, want) {
		t.Errorf("in hooks saw %v, want %v", in, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// refuseFrom is an InboundFilter feature that refuses every message from
// one sender, as a privacy list would.
type refuseFrom struct{ from string }

func (f refuseFrom) Register(r *Registry) error {
	r.FilterInbound(func(to jid.JID, _ Resource, st *stanza.Element) bool {
		return st.Name.Local != "message" || st.Get("from") != f.from
	})
	return nil
}

func TestRefusedMessageSkipsMessageInHooks(t *testing.T) {
	f := &hookFeature{}
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"}, f, refuseFrom{from: "alice@localhost/one"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	b.send(`<presence/>`)
	b.expectStart("presence")
	a.send(fmtMsg("bob@localhost", "online", "x"))
	b.send(`<presence type='unavailable'/>`)
	a.send(fmtMsg("bob@localhost", "offline", "y"))
	for _, id := range []string{"online", "offline"} {
		el := a.next()
		for el.Name.Local != "message" {
			el = a.next()
		}
		if el.Get("type") != "error" || el.Get("id") != id || el.Child("urn:test", "seen") != nil {
			t.Errorf("refused message %s: got %s, want a bare service-unavailable bounce", id, el)
		}
	}
	if _, in := f.seen(); len(in) != 0 {
		t.Errorf("MessageInHooks saw refused messages: %v", in)
	}
}
