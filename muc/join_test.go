package muc

import (
	"strings"
	"testing"
)

const (
	alice = "alice@example.org/a"
	bob   = "bob@example.org/b"
	carol = "carol@example.org/c"
	room  = "room@conference.example.org"
)

func join(nick string) string {
	return "<presence xmlns='jabber:client' to='" + room + "/" + nick + "'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
}

const instant = "<iq xmlns='jabber:client' type='set' id='c1' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"

// openRoom has alice create an instant room and bob (and carol) join.
func openRoom(t *testing.T, h *harness, others ...string) {
	t.Helper()
	h.mustSend(alice, join("Alice"))
	h.mustSend(alice, instant)
	h.got(alice)
	for i, o := range others {
		h.mustSend(o, join([]string{"Bob", "Carol"}[i]))
	}
	for _, o := range append(others, alice) {
		h.got(o)
	}
}

func TestCreateAndJoinOrder(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustSend(alice, join("Alice"))
	got := h.got(alice)
	if len(got) != 2 || !has(got[0], "status code=\"110\"", "code=\"201\"", "affiliation=\"owner\"", "role=\"moderator\"") || !has(got[1], "<subject") {
		t.Fatalf("creation: %q", got)
	}
	// Locked until configured.
	if err := h.send(bob, join("Bob")); condition(err) != "item-not-found" {
		t.Fatalf("join locked room: %v", err)
	}
	h.mustSend(alice, instant)
	if g := h.got(alice); len(g) != 1 || !has(g[0], "type=\"result\"") {
		t.Fatalf("instant: %q", g)
	}
	h.mustSend(alice, "<message xmlns='jabber:client' type='groupchat' to='"+room+"'><body>first</body></message>")
	h.mustSend(alice, "<message xmlns='jabber:client' type='groupchat' to='"+room+"'><subject>Topic</subject></message>")
	h.got(alice)
	h.mustSend(bob, join("Bob"))
	g := h.got(bob)
	// Alice's presence, Bob's self-presence, history, subject.
	if len(g) != 4 {
		t.Fatalf("bob got %d stanzas: %q", len(g), g)
	}
	if !has(g[0], "from=\""+room+"/Alice\"", "affiliation=\"owner\"") || strings.Contains(g[0], "'110'") {
		t.Errorf("first: %s", g[0])
	}
	if !has(g[1], "from=\""+room+"/Bob\"", "code=\"110\"", "role=\"participant\"") {
		t.Errorf("self: %s", g[1])
	}
	if !has(g[2], "<body>first</body>", "urn:xmpp:delay", "from=\""+room+"\"", "stamp=\"2025-01-02T03:04:05.000Z\"") {
		t.Errorf("history: %s", g[2])
	}
	if !has(g[3], "<subject>Topic</subject>") {
		t.Errorf("subject: %s", g[3])
	}
	// Alice, a moderator, sees Bob's real JID in a semi-anonymous room.
	if a := h.got(alice); len(a) != 1 || !has(a[0], "jid=\""+bob+"\"") {
		t.Errorf("alice saw %q", a)
	}
	if strings.Contains(g[0], "jid=") {
		t.Errorf("bob, a participant, sees a real JID: %s", g[0])
	}
}

func TestJoinErrors(t *testing.T) {
	h := newHarness(t, Config{MaxRoomsPerUser: 1})
	openRoom(t, h, bob)
	if err := h.send(carol, join("Bob")); condition(err) != "conflict" {
		t.Errorf("nick conflict: %v", err)
	}
	if err := h.send(carol, "<presence xmlns='jabber:client' to='"+room+"'/>"); condition(err) != "jid-malformed" {
		t.Errorf("no nick: %v", err)
	}
	if err := h.send(bob, "<presence xmlns='jabber:client' to='other@conference.example.org/Bob'/>"); condition(err) != "resource-constraint" {
		t.Errorf("rooms per user: %v", err)
	}
	if r := h.svc.rooms.get("other@conference.example.org"); r != nil {
		t.Errorf("a refused creation left a room")
	}
}

func TestLeaveAndTemporaryRoomVanishes(t *testing.T) {
	h := newHarness(t, Config{})
	openRoom(t, h, bob)
	h.mustSend(bob, "<presence xmlns='jabber:client' type='unavailable' to='"+room+"/Bob'><status>bye</status></presence>")
	if g := h.got(bob); len(g) != 1 || !has(g[0], "type=\"unavailable\"", "code=\"110\"", "<status>bye</status>") {
		t.Errorf("bob: %q", g)
	}
	if g := h.got(alice); len(g) != 1 || !has(g[0], "type=\"unavailable\"", "/Bob") {
		t.Errorf("alice: %q", g)
	}
	h.mustSend(alice, "<presence xmlns='jabber:client' type='unavailable' to='"+room+"/Alice'/>")
	if h.svc.rooms.get(room) != nil {
		t.Errorf("empty temporary room still exists")
	}
}

func TestNickChange(t *testing.T) {
	h := newHarness(t, Config{})
	openRoom(t, h, bob)
	h.mustSend(bob, "<presence xmlns='jabber:client' to='"+room+"/Robert'/>")
	g := h.got(alice)
	if len(g) != 2 || !has(g[0], "type=\"unavailable\"", "/Bob\"", "nick=\"Robert\"", "code=\"303\"") || !has(g[1], "/Robert\"") {
		t.Errorf("alice: %q", g)
	}
	if err := h.send(bob, "<presence xmlns='jabber:client' to='"+room+"/Alice'/>"); condition(err) != "conflict" {
		t.Errorf("nick change conflict: %v", err)
	}
}
