package muc

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/storage/pebble"
)

// newArchiveHarness is newHarness with room archives in a pebble store.
func newArchiveHarness(t *testing.T) *harness {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, clients: map[string]*tclient{}, now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	h.svc, err = New(Options{ServerDomain: "example.org", Metrics: prometheus.NewRegistry(), Store: newMemKV(),
		Now: func() time.Time { return h.now }, Archives: db.Archives()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func groupchat(body string) string {
	return "<message xmlns='jabber:client' type='groupchat' to='" + room + "'><body>" + body + "</body></message>"
}

const mamQuery = "<iq xmlns='jabber:client' type='set' id='q1' to='" + room + "'><query xmlns='urn:xmpp:mam:2' queryid='f'>%s</query></iq>"

func query(inner string) string { return strings.Replace(mamQuery, "%s", inner, 1) }

func TestRoomArchiveStanzaIDAndQuery(t *testing.T) {
	h := newArchiveHarness(t)
	openRoom(t, h, bob)
	// A forged stanza id of the room is removed; the room adds its own.
	h.mustSend(bob, "<message xmlns='jabber:client' type='groupchat' to='"+room+"'><body>one</body><stanza-id xmlns='urn:xmpp:sid:0' by='"+room+"' id='forged'/></message>")
	h.now = h.now.Add(time.Second)
	h.mustSend(alice, groupchat("two"))
	h.mustSend(alice, "<message xmlns='jabber:client' type='groupchat' to='"+room+"'><subject>topic</subject></message>")
	got := h.got(alice)
	if len(got) != 3 || !has(got[0], "<body>one</body>", "<stanza-id xmlns=\"urn:xmpp:sid:0\" by=\""+room+"\"") || strings.Contains(got[0], "forged") {
		t.Fatalf("reflected: %v", got)
	}
	if strings.Contains(got[2], "stanza-id") {
		t.Fatalf("a subject change was archived: %s", got[2])
	}
	h.got(bob)

	h.mustSend(bob, query(""))
	res := h.got(bob)
	if len(res) != 3 {
		t.Fatalf("query answers: %v", res)
	}
	if !has(res[0], "from=\""+room+"\"", "queryid=\"f\"", "<forwarded", "from=\""+room+"/Bob\"", "<body>one</body>") ||
		!has(res[1], "from=\""+room+"/Alice\"", "<body>two</body>") {
		t.Fatalf("results: %v", res)
	}
	if !has(res[2], "type=\"result\"", "id=\"q1\"", "from=\""+room+"\"", "complete=\"true\"", "<count>2</count>") {
		t.Fatalf("fin: %s", res[2])
	}

	// Paging: one per page, then the next after the first page's last.
	h.mustSend(bob, query("<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>"))
	res = h.got(bob)
	if len(res) != 2 || !has(res[0], "<body>one</body>") || strings.Contains(res[1], "complete") {
		t.Fatalf("first page: %v", res)
	}
	last := res[1][strings.Index(res[1], "<last>")+6 : strings.Index(res[1], "</last>")]
	h.mustSend(bob, query("<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><after>"+last+"</after></set>"))
	res = h.got(bob)
	if len(res) != 2 || !has(res[0], "<body>two</body>") || !has(res[1], "complete=\"true\"") {
		t.Fatalf("second page: %v", res)
	}

	// with = an occupant's room JID keeps that occupant's messages.
	h.mustSend(bob, query("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='with'><value>"+room+"/Alice</value></field></x>"))
	res = h.got(bob)
	if len(res) != 2 || !has(res[0], "<body>two</body>") {
		t.Fatalf("with filter: %v", res)
	}
	if err := h.send(bob, query("<set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set>")); condition(err) != "item-not-found" {
		t.Fatalf("unknown after id: %v", err)
	}
}

func TestRoomArchiveAccess(t *testing.T) {
	h := newArchiveHarness(t)
	openRoom(t, h, bob)
	h.mustSend(bob, groupchat("hi"))
	// A public open room: anyone may read the archive.
	if err := h.send(carol, query("")); err != nil {
		t.Fatalf("outsider on a public room: %v", err)
	}
	if got := h.got(carol); len(got) != 2 {
		t.Fatalf("outsider results: %v", got)
	}
	// A hidden room: occupants only.
	h.mustSend(alice, "<iq xmlns='jabber:client' type='set' id='c2' to='"+room+"'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_publicroom'><value>0</value></field></x></query></iq>")
	if err := h.send(carol, query("")); condition(err) != "forbidden" {
		t.Fatalf("outsider on a hidden room: %v", err)
	}
	if err := h.send(bob, query("")); err != nil {
		t.Fatalf("occupant on a hidden room: %v", err)
	}
	// The form, and the disco feature.
	h.mustSend(bob, "<iq xmlns='jabber:client' type='get' id='f1' to='"+room+"'><query xmlns='urn:xmpp:mam:2'/></iq>")
	h.got(bob)
	h.mustSend(bob, "<iq xmlns='jabber:client' type='get' id='d1' to='"+room+"'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if got := h.got(bob); len(got) != 1 || !has(got[0], "var=\"urn:xmpp:mam:2\"") {
		t.Fatalf("disco: %v", got)
	}
}

func TestRoomWithoutArchives(t *testing.T) {
	h := newHarness(t, Config{})
	openRoom(t, h, bob)
	h.mustSend(bob, groupchat("hi"))
	if got := h.got(bob); len(got) != 1 || strings.Contains(got[0], "stanza-id") {
		t.Fatalf("reflected: %v", got)
	}
	if err := h.send(bob, query("")); condition(err) != "service-unavailable" {
		t.Fatalf("query without archives: %v", err)
	}
}

func TestIQToOccupantIsRelayed(t *testing.T) {
	h := newHarness(t, Config{})
	openRoom(t, h, bob, carol)
	h.mustSend(alice, "<iq xmlns='jabber:client' type='get' id='v1' to='"+room+"/Bob'><vCard xmlns='vcard-temp'/></iq>")
	got := h.got(bob)
	if len(got) != 1 || !has(got[0], "from=\""+room+"/Alice\"", "to=\""+bob+"\"", "<vCard") || strings.Contains(got[0], "id=\"v1\"") {
		t.Fatalf("forwarded: %v", got)
	}
	fwd := parse(t, got[0])
	id := fwd.Get("id")
	// Someone else answering the relay's id is ignored.
	h.mustSend(carol, "<iq xmlns='jabber:client' type='result' id='"+id+"' to='"+room+"/Alice'/>")
	if got := h.got(alice); len(got) != 0 {
		t.Fatalf("a stranger's answer reached the requester: %v", got)
	}
	h.mustSend(bob, "<iq xmlns='jabber:client' type='result' id='"+id+"' to='"+room+"/Alice'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard></iq>")
	got = h.got(alice)
	if len(got) != 1 || !has(got[0], "id=\"v1\"", "from=\""+room+"/Bob\"", "to=\""+alice+"\"", "<FN>Bob</FN>") {
		t.Fatalf("response: %v", got)
	}
	// Answered once: a replay is dropped.
	h.mustSend(bob, "<iq xmlns='jabber:client' type='result' id='"+id+"' to='"+room+"/Alice'/>")
	if got := h.got(alice); len(got) != 0 || h.svc.relay.size() != 0 {
		t.Fatalf("replayed answer: %v", got)
	}
	// Errors: unknown nick, and a requester who is not in the room.
	if err := h.send(alice, "<iq xmlns='jabber:client' type='get' id='v2' to='"+room+"/Nobody'><vCard xmlns='vcard-temp'/></iq>"); condition(err) != "item-not-found" {
		t.Fatalf("unknown nick: %v", err)
	}
	if err := h.send("dave@example.org/d", "<iq xmlns='jabber:client' type='get' id='v3' to='"+room+"/Bob'><vCard xmlns='vcard-temp'/></iq>"); condition(err) != "not-acceptable" {
		t.Fatalf("outsider: %v", err)
	}
	// An error answer goes back the same way.
	h.mustSend(alice, "<iq xmlns='jabber:client' type='get' id='v4' to='"+room+"/Bob'><query xmlns='jabber:iq:version'/></iq>")
	got = h.got(bob)
	if len(got) != 1 {
		t.Fatalf("second request: %v", got)
	}
	id = parse(t, got[0]).Get("id")
	h.mustSend(bob, "<iq xmlns='jabber:client' type='error' id='"+id+"' to='"+room+"/Alice'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
	if got := h.got(alice); len(got) != 1 || !has(got[0], "type=\"error\"", "id=\"v4\"", "from=\""+room+"/Bob\"", "service-unavailable") {
		t.Fatalf("error answer: %v", got)
	}
	// Self-ping is still answered by the service.
	h.mustSend(alice, "<iq xmlns='jabber:client' type='get' id='p1' to='"+room+"/Alice'><ping xmlns='urn:xmpp:ping'/></iq>")
	if got := h.got(alice); len(got) != 1 || !has(got[0], "type=\"result\"", "id=\"p1\"") {
		t.Fatalf("self-ping: %v", got)
	}
}

func TestIQRelayBounded(t *testing.T) {
	r := newIQRelay()
	first := r.add(pendingIQ{id: "0"})
	for i := 0; i < 3*relayCap; i++ {
		r.add(pendingIQ{id: "x"})
	}
	if r.size() != relayCap || len(r.order) > 2*relayCap {
		t.Fatalf("size %d, order %d", r.size(), len(r.order))
	}
	if _, ok := r.take(first); ok {
		t.Fatal("the oldest request was kept past the cap")
	}
}

func TestRoomArchiveGoesWithTheRoom(t *testing.T) {
	h := newArchiveHarness(t)
	openRoom(t, h, bob)
	h.mustSend(bob, groupchat("secret"))
	// Everyone leaves: the temporary room vanishes, and its archive too.
	for _, who := range []string{alice, bob} {
		h.mustSend(who, "<presence xmlns='jabber:client' type='unavailable' to='"+room+"/x'/>")
	}
	if h.svc.RoomCount() != 0 {
		t.Fatalf("%d rooms left", h.svc.RoomCount())
	}
	// Someone else makes a room of the same name: it starts empty.
	h.mustSend(carol, join("Carol"))
	h.mustSend(carol, "<iq xmlns='jabber:client' type='set' id='c1' to='"+room+"'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
	h.got(carol)
	h.mustSend(carol, query(""))
	if got := h.got(carol); len(got) != 1 || !has(got[0], "<count>0</count>") {
		t.Fatalf("the new room inherited an archive: %v", got)
	}
}
