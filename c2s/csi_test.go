package c2s

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppd/xmppd/stanza"
)

const (
	csiInactive = `<inactive xmlns='urn:xmpp:csi:0'/>`
	csiActive   = `<active xmlns='urn:xmpp:csi:0'/>`
)

func presenceTo(to, show string) string {
	return fmt.Sprintf(`<presence to='%s'><show>%s</show></presence>`, to, show)
}

func typingTo(to, state string) string {
	return fmt.Sprintf(`<message to='%s' type='chat'><%s xmlns='http://jabber.org/protocol/chatstates'/></message>`, to, state)
}

// sync makes sure everything c sent before has been routed: the server
// handles a client's stanzas in order, so once the ping is answered the
// earlier ones are on their recipients' queues.
func (c *testClient) sync() {
	c.t.Helper()
	c.send(`<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>`)
	for {
		if el := c.smNext(); el.Name.Local == "iq" && el.Get("id") == "sync" {
			return
		}
	}
}

// inactive says the client is inactive and waits until the server has
// read that.
func (c *testClient) inactive() {
	c.t.Helper()
	c.send(csiInactive)
	c.sync()
}

// heldNothingSince checks, with an SM ack round trip (a nonza: it flushes
// nothing held), that c received nothing since its last read.
func (c *testClient) heldNothingSince() {
	c.t.Helper()
	c.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	if el := c.smNext(); el.Name.Space != nsSM || el.Name.Local != "a" {
		c.t.Fatalf("while inactive: got %s, want only the <a/> of our request", el)
	}
}

// describe renders a stanza as kind:from:payload for order checks.
func describe(el *stanza.Element) string {
	var what string
	switch el.Name.Local {
	case "presence":
		what = el.Get("type") + el.ChildText(stanza.NSClient, "show")
	case "message":
		if b := el.ChildText(stanza.NSClient, "body"); b != "" {
			what = "body=" + b
		}
		for _, c := range el.Elements() {
			if c.Name.Space == nsChatStates {
				what = c.Name.Local
			}
		}
	default:
		what = el.Get("id")
	}
	return el.Name.Local + ":" + el.Get("from") + ":" + what
}

func (c *testClient) expectSeq(want ...string) {
	c.t.Helper()
	for i, w := range want {
		if got := describe(c.smNext()); got != w {
			c.t.Fatalf("stanza %d: got %s, want %s", i, got, w)
		}
	}
}

func TestCSIFeatureAdvertised(t *testing.T) {
	srv := newTestServer(t, Config{}, map[string]string{"bob": "pw"})
	c := dialAuthed(t, srv.addr, "bob", "pw")
	if c.features.Child(nsCSI, "csi") == nil {
		t.Fatalf("post-auth features lack <csi/>: %s", c.features)
	}
}

func TestCSIHoldsCollapsesAndFlushes(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b", "carol": "pw-c"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "phone")
	c := dialClient(t, srv.addr, "carol", "pw-c", "pc")
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	b.enableSM(false)
	const bob = "bob@localhost/tab"
	alice, carol := "alice@localhost/phone", "carol@localhost/pc"

	b.inactive()
	// Each sender syncs before the other goes on, making the order across
	// senders deterministic.
	a.send(presenceTo(bob, "away"))
	a.send(typingTo(bob, "composing"))
	a.sync()
	c.send(presenceTo(bob, "dnd"))
	c.sync()
	a.send(presenceTo(bob, "xa"))   // replaces away
	a.send(typingTo(bob, "paused")) // replaces composing
	a.sync()
	c.send(`<presence to='` + bob + `' type='unavailable'/>`) // replaces dnd
	c.sync()
	b.heldNothingSince()

	// A message with a body goes at once, after what was held.
	a.send(fmtMsg(bob, "m1", "hi"))
	b.expectSeq(
		"presence:"+alice+":xa",
		"message:"+alice+":paused",
		"presence:"+carol+":unavailable",
		"message:"+alice+":body=hi",
	)

	// Held again, then written on <active/>, before later input is answered.
	a.send(presenceTo(bob, "chat"))
	a.send(typingTo(bob, "composing"))
	a.send(typingTo(bob, "active"))
	a.sync()
	b.heldNothingSince()
	b.send(csiActive)
	b.send(`<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>`)
	b.expectSeq("presence:"+alice+":chat", "message:"+alice+":active", "iq::after")

	// Active: nothing is held any more.
	a.send(typingTo(bob, "composing"))
	b.expectSeq("message:" + alice + ":composing")

	m := srv.m.csi
	if got := testutil.ToFloat64(m.held); got != 9 {
		t.Errorf("held = %v, want 9", got)
	}
	if got := testutil.ToFloat64(m.collapsed); got != 4 {
		t.Errorf("collapsed = %v, want 4", got)
	}
	if u, ac := testutil.ToFloat64(m.flushed.WithLabelValues("urgent")), testutil.ToFloat64(m.flushed.WithLabelValues("active")); u != 3 || ac != 2 {
		t.Errorf("flushed urgent = %v, active = %v; want 3, 2", u, ac)
	}
	if got := testutil.ToFloat64(m.inactive); got != 0 {
		t.Errorf("inactive sessions = %v, want 0", got)
	}
}

func TestCSIDeliversAtOnce(t *testing.T) {
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "phone")
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	b.enableSM(false)
	const bob = "bob@localhost/tab"
	b.inactive()
	b.send(`<presence/>`) // the echo of its own presence is not held
	b.expectSeq("presence:" + bob + ":")
	tests := []struct{ name, send, want string }{
		{"subscription request", `<presence to='bob@localhost' type='subscribe'/>`, "presence:alice@localhost/phone:subscribe"},
		{"iq", `<iq to='` + bob + `' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`, "iq:alice@localhost/phone:v1"},
		{"receipt", `<message to='` + bob + `' id='r1'><received xmlns='urn:xmpp:receipts' id='x'/></message>`, "message:alice@localhost/phone:"},
		{"chat state with body", `<message to='` + bob + `' type='chat'><body>yo</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`, "message:alice@localhost/phone:active"},
	}
	for _, tc := range tests {
		a.send(tc.send)
		a.sync()
		if got := describe(b.smNext()); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(srv.m.csi.held); got != 0 {
		t.Errorf("held = %v, want 0", got)
	}
}

func TestCSIKey(t *testing.T) {
	s := &Session{}
	s.jid, _ = ParseJID("bob@localhost/tab")
	const cs = `<active xmlns='http://jabber.org/protocol/chatstates'/>`
	tests := []struct {
		name, xml string
		key       string // "" means written at once
	}{
		{"available", `<presence from='a@x/1'/>`, "p\x00a@x/1"},
		{"unavailable", `<presence from='a@x/1' type='unavailable'/>`, "p\x00a@x/1"},
		{"subscribe", `<presence from='a@x' type='subscribe'/>`, ""},
		{"presence error", `<presence from='a@x' type='error'/>`, ""},
		{"own echo", `<presence from='bob@localhost/tab'/>`, ""},
		{"other own resource", `<presence from='bob@localhost/pc'/>`, "p\x00bob@localhost/pc"},
		{"muc occupant", `<presence from='r@muc/nick'><x xmlns='http://jabber.org/protocol/muc#user'><status code='100'/></x></presence>`, "p\x00r@muc/nick"},
		{"muc self", `<presence from='r@muc/me'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>`, ""},
		{"chat state", `<message from='a@x/1' type='chat'>` + cs + `</message>`, "c\x00a@x/1"},
		{"chat state, thread, hint, id", `<message xmlns='jabber:client' from='a@x/1' type='chat'>` + cs + `<thread>t</thread><no-store xmlns='urn:xmpp:hints'/><origin-id xmlns='urn:xmpp:sid:0' id='o'/></message>`, "c\x00a@x/1"},
		{"groupchat chat state", `<message from='r@muc/n' type='groupchat'>` + cs + `</message>`, "c\x00r@muc/n"},
		{"body", `<message from='a@x/1' type='chat'><body>hi</body>` + cs + `</message>`, ""},
		{"subject", `<message from='r@muc/n' type='groupchat'><subject>s</subject>` + cs + `</message>`, ""},
		{"chat state and receipt", `<message from='a@x/1'>` + cs + `<received xmlns='urn:xmpp:receipts' id='1'/></message>`, ""},
		{"error", `<message from='a@x/1' type='error'>` + cs + `</message>`, ""},
		{"empty message", `<message from='a@x/1'/>`, ""},
		{"carbon of chat state", `<message from='bob@localhost' to='bob@localhost/tab'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@localhost/pc' to='a@x'>` + cs + `</message></forwarded></sent></message>`, "c\x00sent\x00bob@localhost/pc\x00a@x"},
		{"carbon of body", `<message from='bob@localhost'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='a@x/1'><body>hi</body></message></forwarded></received></message>`, ""},
		{"iq", `<iq from='a@x/1' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`, ""},
	}
	for _, tc := range tests {
		el, err := stanza.Parse([]byte(tc.xml), 20)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		key, ok := csiKey(s, el)
		if ok != (tc.key != "") || key != tc.key {
			t.Errorf("%s: csiKey = %q, %v; want %q", tc.name, key, ok, tc.key)
		}
	}
}

func TestCSINoncountedAndHeldNotNumbered(t *testing.T) {
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "phone")
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	b.enableSM(false)
	const bob = "bob@localhost/tab"
	b.send(csiInactive)
	b.send(csiActive)
	b.send(csiInactive)
	b.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	if el := b.smNext(); el.Name.Local != "a" || el.Get("h") != "0" {
		t.Fatalf("after three CSI nonzas: %s, want h='0'", el)
	}
	for i := 0; i < 5; i++ {
		a.send(presenceTo(bob, fmt.Sprint("s", i)))
	}
	a.sync()
	b.heldNothingSince()
	b.send(csiActive)
	b.expectSeq("presence:alice@localhost/phone:s4")
	// One stanza was written, so one was numbered: acking two is too many.
	b.send(`<a xmlns='urn:xmpp:sm:3' h='2'/>`)
	for {
		el, err := b.nextErr(5 * time.Second)
		if err != nil {
			t.Fatalf("no stream error: %v", err)
		}
		if hc := el.Child(nsSM, "handled-count-too-high"); hc != nil {
			if hc.Get("send-count") != "1" {
				t.Errorf("send-count = %s, want 1: held stanzas are not numbered", hc.Get("send-count"))
			}
			return
		}
	}
}

func TestCSIResumedStreamStartsActive(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "phone")
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	id := b.enableSM(true).Get("id")
	b.inactive()
	a.send(presenceTo("bob@localhost/tab", "away"))
	a.send(typingTo("bob@localhost/tab", "composing"))
	a.sync()
	b.heldNothingSince()
	n := dropAndResume(t, srv, b, "bob", "pw-b", id, 1) // the sync result
	if el := n.smNext(); el.Name.Local != "resumed" {
		t.Fatalf("resume: got %s", el)
	}
	n.expectSeq("presence:alice@localhost/phone:away", "message:alice@localhost/phone:composing")
	a.send(presenceTo("bob@localhost/tab", "chat"))
	n.expectSeq("presence:alice@localhost/phone:chat")
	if got := testutil.ToFloat64(srv.m.csi.flushed.WithLabelValues("resumed")); got != 2 {
		t.Errorf("flushed on resumption = %v, want 2", got)
	}
}

func TestCSIOverflowFlushes(t *testing.T) {
	srv := newTestServer(t, Config{CSIMaxHeld: 2}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	b.enableSM(false)
	b.inactive()
	var from []string
	for _, r := range []string{"r1", "r2", "r3"} {
		a := dialClient(t, srv.addr, "alice", "pw-a", r)
		a.send(presenceTo("bob@localhost/tab", "away"))
		a.send(presenceTo("bob@localhost/tab", "xa")) // collapses: still one entry
		a.sync()
		from = append(from, "presence:alice@localhost/"+r+":xa")
	}
	// The third sender's presence did not fit: the two held before it
	// were written, and it is held.
	b.expectSeq(from[:2]...)
	b.heldNothingSince()
	if got := testutil.ToFloat64(srv.m.csi.flushed.WithLabelValues("overflow")); got != 2 {
		t.Errorf("flushed on overflow = %v, want 2", got)
	}
}

func TestCSIEndWhileHoldingLosesNothing(t *testing.T) {
	checkNoGoroutineLeak(t)
	u := newUndeliverables()
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"}, u)
	a := dialClient(t, srv.addr, "alice", "pw-a", "phone")
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	b.enableSM(false)
	b.inactive()
	a.send(presenceTo("bob@localhost/tab", "away"))
	a.send(typingTo("bob@localhost/tab", "composing"))
	a.sync()
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.csi.held) == 2 })
	b.send(`</stream:stream>`)
	waitFor(t, func() bool { return len(srv.Sessions("bob@localhost")) == 0 })
	if got := testutil.ToFloat64(srv.m.csi.inactive); got != 0 {
		t.Errorf("inactive sessions after close = %v", got)
	}
	// The chat state was dropped, not stored: the first thing stored
	// offline is the message sent now.
	a.send(fmtMsg("bob@localhost", "later", "are you there?"))
	msgs := u.wait(t, 1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].Get("id") != "later" {
		t.Errorf("stored offline: %v", msgs)
	}
}

func TestCSIUnknownElementClosesStream(t *testing.T) {
	srv := newTestServer(t, Config{}, map[string]string{"bob": "pw-b"})
	b := dialClient(t, srv.addr, "bob", "pw-b", "tab")
	b.send(`<sleepy xmlns='urn:xmpp:csi:0'/>`)
	if got := b.streamError(); got != "unsupported-stanza-type" {
		t.Errorf("stream error = %q, want unsupported-stanza-type", got)
	}
}
