package c2s

import (
	"context"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// filterFeature refuses, outbound, every stanza to blocked@localhost
// (presence silently) and, inbound, every stanza whose id starts "deny".
type filterFeature struct{}

func (filterFeature) Register(r *Registry) error {
	r.FilterOutbound(func(_ context.Context, s *Session, st *stanza.Element, to jid.JID) (bool, *StanzaError) {
		if to.Localpart() != "blocked" {
			return false, nil
		}
		if st.Name.Local == "presence" {
			return true, nil
		}
		return true, NotAcceptable("blocked")
	})
	r.FilterInbound(func(_ jid.JID, _ Resource, st *stanza.Element) bool {
		return !strings.HasPrefix(st.Get("id"), "deny")
	})
	return nil
}

func TestFilters(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b", "blocked": "pw-c"}, filterFeature{})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	b.send(`<presence/>`)
	b.expectStart("presence")

	a.send(fmtMsg("blocked@localhost", "m1", "hi"))
	if el := a.next(); el.Get("id") != "m1" || el.Get("type") != "error" || !strings.Contains(el.String(), "not-acceptable") {
		t.Errorf("outbound refused message: got %s, want not-acceptable", el)
	}
	a.send(`<presence to='blocked@localhost' id='p0'/>`)
	a.send(fmtMsg("bob@localhost/two", "deny1", "x"))
	if el := a.next(); el.Get("id") != "deny1" || !strings.Contains(el.String(), "service-unavailable") {
		t.Errorf("inbound refused message to full JID: got %s", el)
	}
	a.send(fmtMsg("bob@localhost", "deny2", "x"))
	if el := a.next(); el.Get("id") != "deny2" || !strings.Contains(el.String(), "service-unavailable") {
		t.Errorf("inbound refused message to bare JID: got %s", el)
	}
	a.send(`<iq type='get' to='bob@localhost/two' id='deny3'><query xmlns='urn:x'/></iq>`)
	if el := a.next(); el.Get("id") != "deny3" || !strings.Contains(el.String(), "service-unavailable") {
		t.Errorf("inbound refused iq: got %s", el)
	}
	a.send(`<presence to='bob@localhost' id='deny4'/>`)
	a.send(fmtMsg("bob@localhost/two", "ok1", "y"))
	if el := b.next(); el.Get("id") != "ok1" {
		t.Errorf("bob got %s first, want message ok1 (the refused stanzas never arrive)", el)
	}
	a.send(fmtMsg("nobody-here@localhost", "m2", "z"))
	a.send(`<message to='bob@localhost' id='deny5' type='chat'><body>x</body></message>`)
	for _, want := range []string{"m2", "deny5"} {
		if el := a.next(); el.Get("id") != want || el.Get("type") != "error" {
			t.Errorf("got %s, want error for %s", el, want)
		}
	}
}
