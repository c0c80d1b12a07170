package muc

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"
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

func TestKickBanAndPermissions(t *testing.T) {
	h := newHarness(t, Config{})
	openRoom(t, h, bob, carol)
	kick := func(nick string) string {
		return "<iq xmlns='jabber:client' type='set' id='k' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='" + nick + "' role='none'><reason>out</reason></item></query></iq>"
	}
	if err := h.send(bob, kick("Carol")); condition(err) != "forbidden" {
		t.Errorf("participant kicking: %v", err)
	}
	if err := h.send(alice, kick("Nobody")); condition(err) != "item-not-found" {
		t.Errorf("kick unknown nick: %v", err)
	}
	h.mustSend(alice, kick("Carol"))
	if g := h.got(carol); len(g) != 1 || !has(g[0], "type=\"unavailable\"", "code=\"307\"", "code=\"110\"", "<reason>out</reason>", "nick=\"Alice\"") {
		t.Errorf("kicked: %q", g)
	}
	h.got(bob)
	ban := "<iq xmlns='jabber:client' type='set' id='b' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.org' affiliation='outcast'/></query></iq>"
	h.mustSend(alice, ban)
	if g := h.got(bob); len(g) != 1 || !has(g[0], "code=\"301\"", "affiliation=\"outcast\"") {
		t.Errorf("banned: %q", g)
	}
	if err := h.send(bob, join("Bob")); condition(err) != "forbidden" {
		t.Errorf("banned rejoin: %v", err)
	}
	// The only owner cannot give up ownership.
	self := "<iq xmlns='jabber:client' type='set' id='o' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='alice@example.org' affiliation='member'/></query></iq>"
	if err := h.send(alice, self); condition(err) != "conflict" {
		t.Errorf("last owner: %v", err)
	}
}

func TestHistoryLimits(t *testing.T) {
	h := newHarness(t, Config{HistoryLength: 3})
	openRoom(t, h)
	for i := 0; i < 5; i++ {
		h.now = h.now.Add(time.Minute)
		h.mustSend(alice, "<message xmlns='jabber:client' type='groupchat' to='"+room+"'><body>m"+strconv.Itoa(i)+"</body></message>")
	}
	// The encoded length of one kept message (all are as long): what Bob
	// receives is that message with his address added last, shown by
	// String with its namespace declared.
	h.mustSend(bob, "<presence xmlns='jabber:client' to='"+room+"/Bob'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='1'/></x></presence>")
	var one int
	for _, s := range h.got(bob) {
		if strings.Contains(s, "<body>") {
			one = len(s) - len(" to='"+bob+"'") - len(" xmlns='jabber:client'")
		}
	}
	h.mustSend(bob, "<presence xmlns='jabber:client' type='unavailable' to='"+room+"/Bob'/>")
	h.got(bob)
	for _, tc := range []struct {
		name, history string
		want          []string
	}{
		{name: "default: the kept length", want: []string{"m2", "m3", "m4"}},
		{name: "maxstanzas", history: "<history maxstanzas='1'/>", want: []string{"m4"}},
		{name: "maxchars 0", history: "<history maxchars='0'/>", want: nil},
		{name: "maxchars short of one", history: "<history maxchars='" + strconv.Itoa(one-1) + "'/>", want: nil},
		{name: "maxchars of one", history: "<history maxchars='" + strconv.Itoa(one) + "'/>", want: []string{"m4"}},
		{name: "maxchars of two and a half", history: "<history maxchars='" + strconv.Itoa(2*one+one/2) + "'/>", want: []string{"m3", "m4"}},
		{name: "maxchars again, measured before", history: "<history maxchars='" + strconv.Itoa(2*one) + "'/>", want: []string{"m3", "m4"}},
		{name: "seconds", history: "<history seconds='90'/>", want: []string{"m3", "m4"}},
		{name: "since", history: "<history since='2025-01-02T03:08:00Z'/>", want: []string{"m3", "m4"}},
	} {
		h.mustSend(bob, "<presence xmlns='jabber:client' to='"+room+"/Bob'><x xmlns='http://jabber.org/protocol/muc'>"+tc.history+"</x></presence>")
		var got []string
		for _, s := range h.got(bob) {
			if i := strings.Index(s, "<body>"); i >= 0 {
				got = append(got, s[i+6:strings.Index(s, "</body>")])
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: history %v, want %v", tc.name, got, tc.want)
		}
		h.mustSend(bob, "<presence xmlns='jabber:client' type='unavailable' to='"+room+"/Bob'/>")
		h.got(bob)
	}
}

func TestPersistAndLoad(t *testing.T) {
	h := newHarness(t, Config{})
	if n := h.svc.RoomCount(); n != 0 {
		t.Errorf("RoomCount of a new service = %d, want 0", n)
	}
	openRoom(t, h, bob)
	if n := h.svc.RoomCount(); n != 1 {
		t.Errorf("RoomCount with one room = %d, want 1", n)
	}
	cfg := "<iq xmlns='jabber:client' type='set' id='c' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field><field var='muc#roomconfig_roomname'><value>Kept</value></field></x></query></iq>"
	h.mustSend(alice, cfg)
	h.mustSend(alice, "<message xmlns='jabber:client' type='groupchat' to='"+room+"'><subject>S</subject></message>")
	svc2, err := New(Options{ServerDomain: "example.org", Metrics: prometheus.NewRegistry(), Store: h.svc.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := svc2.RoomCount(); n != 1 {
		t.Errorf("RoomCount after Load = %d, want the 1 persistent room", n)
	}
	rm := svc2.rooms.get(room)
	if rm == nil || rm.cfg.Name != "Kept" || rm.subject != "S" || rm.affiliation("alice@example.org") != affOwner || rm.locked {
		t.Fatalf("restored room: %+v", rm)
	}
}

// TestRoomCreationGate: with AllowCreate refusing bob, bob cannot create a
// room (<not-allowed/>, XEP-0045 §10.1.1) but can still join alice's.
func TestRoomCreationGate(t *testing.T) {
	h := newHarness(t, Config{})
	h.svc.allowCreate = func(user jid.JID) bool { return user.Localpart() != "bob" }
	if err := h.send(bob, "<presence xmlns='jabber:client' to='other@conference.example.org/Bob'/>"); condition(err) != "not-allowed" {
		t.Fatalf("bob creating a room: %v, want not-allowed", err)
	}
	if h.svc.lookup("other@conference.example.org") != nil {
		t.Fatal("a refused creation left a room behind")
	}
	openRoom(t, h, bob)
	if got := h.got(bob); len(got) != 0 {
		t.Fatalf("bob after joining: %q", got)
	}
}
