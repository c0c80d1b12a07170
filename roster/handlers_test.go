package roster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppd/xmppd/c2s"
)

const q = "<query xmlns='jabber:iq:roster'>%s</query>"

func TestRosterSetErrors(t *testing.T) {
	h := newHarness(t, xorSealer{})
	a := h.bind("alice@localhost/a")
	long := strings.Repeat("n", 1025)
	tests := []struct {
		name string
		body string
		want c2s.Condition
	}{
		{name: "two items", body: "<item jid='b@localhost'/><item jid='c@localhost'/>", want: c2s.CondBadRequest},
		{name: "no item", body: "", want: c2s.CondBadRequest},
		{name: "no jid", body: "<item name='x'/>", want: c2s.CondBadRequest},
		{name: "invalid jid", body: "<item jid='a@b@c'/>", want: c2s.CondBadRequest},
		{name: "full jid", body: "<item jid='b@localhost/r'/>", want: c2s.CondBadRequest},
		{name: "duplicate groups", body: "<item jid='b@localhost'><group>G</group><group>G</group></item>", want: c2s.CondBadRequest},
		{name: "empty group", body: "<item jid='b@localhost'><group/></item>", want: c2s.CondNotAcceptable},
		{name: "group too long", body: "<item jid='b@localhost'><group>" + long + "</group></item>", want: c2s.CondNotAcceptable},
		{name: "name too long", body: "<item jid='b@localhost' name='" + long + "'/>", want: c2s.CondNotAcceptable},
		{name: "note too long", body: "<item jid='b@localhost'><note>" + strings.Repeat("é", 512) + "x</note></item>", want: c2s.CondNotAcceptable},
		{name: "two notes", body: "<item jid='b@localhost'><note>a</note><note>b</note></item>", want: c2s.CondBadRequest},
		{name: "own jid", body: "<item jid='alice@localhost'/>", want: c2s.CondNotAllowed},
		{name: "remove unknown", body: "<item jid='z@localhost' subscription='remove'/>", want: c2s.CondItemNotFound},
	}
	for _, tt := range tests {
		_, err := h.iq(a, "set", fmt.Sprintf(q, tt.body))
		var se *c2s.StanzaError
		if !errors.As(err, &se) || se.Condition != tt.want {
			t.Errorf("%s: set = %v, want %s", tt.name, err, tt.want)
		}
	}
	if _, err := h.iq(a, "set", fmt.Sprintf(q, "<item jid='b@localhost'><note>"+strings.Repeat("é", 512)+"</note></item>")); err != nil {
		t.Errorf("a note of exactly 1024 bytes: %v", err)
	}
}

func TestSetPushesToInterestedResourcesWithNote(t *testing.T) {
	h := newHarness(t, xorSealer{})
	a1, a2, a3 := h.bind("alice@localhost/1"), h.bind("alice@localhost/2"), h.bind("alice@localhost/3")
	for _, r := range []*fakeRes{a1, a2} {
		if _, err := h.iq(r, "get", fmt.Sprintf(q, "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.iq(a1, "set", fmt.Sprintf(q, "<item jid='Bob@localhost' name='B'><group>x</group><note>likes ARAM</note></item>")); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*fakeRes{a1, a2} {
		got := r.take()
		if len(got) != 1 {
			t.Fatalf("%s got %d stanzas, want one push", r.j, len(got))
		}
		it := got[0].Child(nsRoster, "query").Child(nsRoster, "item")
		if it.Get("jid") != "bob@localhost" || it.ChildText(nsRoster, "note") != "likes ARAM" || it.ChildText(nsRoster, "group") != "x" {
			t.Errorf("push to %s = %s", r.j, got[0])
		}
	}
	if got := a3.take(); len(got) != 0 {
		t.Errorf("a resource that never fetched the roster got %d pushes", len(got))
	}
	stored := h.item("alice@localhost", "bob@localhost")
	if len(stored.Note) == 0 || bytes.Contains(stored.Note, []byte("likes ARAM")) {
		t.Errorf("stored note %q: want sealed bytes without the plaintext", stored.Note)
	}
	res, _ := h.iq(a2, "get", fmt.Sprintf(q, ""))
	if n := res.Child(nsRoster, "item").ChildText(nsRoster, "note"); n != "likes ARAM" {
		t.Errorf("get note = %q", n)
	}
	// A set without a note clears it.
	h.iq(a1, "set", fmt.Sprintf(q, "<item jid='bob@localhost'/>"))
	if it := h.item("alice@localhost", "bob@localhost"); it.Note != nil || it.Name != "" || it.Groups != nil {
		t.Errorf("after a bare set: %+v", it)
	}
}

func TestNoteThatDoesNotOpenIsLeftOut(t *testing.T) {
	h := newHarness(t, xorSealer{})
	a := h.bind("alice@localhost/1")
	h.iq(a, "set", fmt.Sprintf(q, "<item jid='bob@localhost'><note>n</note></item>"))
	// Move the sealed note to another contact: it must not open there.
	_, err := h.svc.store.Update(context.Background(), "alice@localhost", func(doc *crdtDoc, w *crdtWriter) error {
		sealed, _ := doc.Field("bob@localhost", fNote)
		doc.Set(w, "carol@localhost", fListed, []byte("1"))
		doc.Set(w, "carol@localhost", fNote, sealed)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := h.iq(a, "get", fmt.Sprintf(q, ""))
	for _, it := range res.Elements() {
		note := it.ChildText(nsRoster, "note")
		if it.Get("jid") == "carol@localhost" && note != "" {
			t.Errorf("moved note was shown: %q", note)
		}
		if it.Get("jid") == "bob@localhost" && note != "n" {
			t.Errorf("bob's note = %q", note)
		}
	}
	if got := testutil.ToFloat64(h.svc.m.noteErrors); got != 1 {
		t.Errorf("note errors = %v, want 1", got)
	}
}

func TestSubscriptionHandshake(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.bind("alice@localhost/a"), h.bind("bob@localhost/b"), h.bind("carol@localhost/c")
	for _, r := range []*fakeRes{a, b, c} {
		h.iq(r, "get", fmt.Sprintf(q, ""))
		h.online(r)
		r.take()
	}
	h.pres(a, "subscribe", "bob@localhost")
	expectGot(t, a, "alice after subscribe", "push:bob@localhost:none+ask")
	expectGot(t, b, "bob after alice's subscribe", "presence:subscribe:alice@localhost")
	// bob's presence does not reach alice yet.
	h.online(b)
	if got := a.take(); len(got) != 0 {
		t.Errorf("presence leaked before approval: %v", describe(got))
	}
	h.pres(b, "subscribed", "alice@localhost")
	expectGot(t, a, "alice after approval", "push:bob@localhost:to", "presence:subscribed:bob@localhost", "presence:available:bob@localhost/b")
	expectGot(t, b, "bob after approving", "push:alice@localhost:from")
	h.online(b) // a presence update
	h.online(a)
	expectGot(t, a, "alice gets bob's update", "presence:available:bob@localhost/b")
	if got := b.take(); len(got) != 0 {
		t.Errorf("bob got alice's presence without a subscription: %v", describe(got))
	}
	if got := c.take(); len(got) != 0 {
		t.Errorf("carol got %v", describe(got))
	}
	if it := h.item("alice@localhost", "bob@localhost"); it.State != (State{To: true}) || !it.Listed {
		t.Errorf("alice's item %+v", it)
	}
	// bob cancels: alice gets unsubscribed and bob's unavailable.
	h.pres(b, "unsubscribed", "alice@localhost")
	expectGot(t, a, "alice after cancellation", "push:bob@localhost:none", "presence:unsubscribed:bob@localhost", "presence:unavailable:bob@localhost/b")
}

func TestRequestToOfflineUserDeliveredAtLogin(t *testing.T) {
	h := newHarness(t, nil)
	a := h.bind("alice@localhost/a")
	h.online(a)
	h.pres(a, "subscribe", "bob@localhost")
	b := h.bind("bob@localhost/b")
	h.iq(b, "get", fmt.Sprintf(q, ""))
	if got := b.take(); len(got) != 0 {
		t.Fatalf("bob got %v before his initial presence", describe(got))
	}
	res, _ := h.iq(b, "get", fmt.Sprintf(q, ""))
	if len(res.Elements()) != 0 {
		t.Errorf("a pending request is not a roster item: %s", res)
	}
	h.online(b)
	expectGot(t, b, "bob at login", "presence:subscribe:alice@localhost")
	// Denying it removes every trace.
	h.pres(b, "unsubscribed", "alice@localhost")
	doc, _ := h.svc.store.Load(context.Background(), "bob@localhost")
	if doc.Has("alice@localhost") {
		t.Errorf("a denied request is still stored")
	}
}

func TestLoginCostsOneReadAndProbesFromTheDirectory(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	// alice and bob are mutual contacts; bob is online.
	for _, pair := range [][2]string{{"alice@localhost", "bob@localhost"}, {"bob@localhost", "alice@localhost"}} {
		h.svc.store.Update(ctx, pair[0], func(doc *crdtDoc, w *crdtWriter) error {
			writeItem(doc, w, Item{JID: pair[1]}, Item{JID: pair[1], Listed: true, State: State{To: true, From: true}})
			return nil
		})
	}
	b := h.bind("bob@localhost/b")
	h.online(b)
	b.take()
	before := h.docs.gets.Load()
	a := h.bind("alice@localhost/a")
	h.iq(a, "get", fmt.Sprintf(q, ""))
	h.online(a)
	if reads := h.docs.gets.Load() - before; reads != 1 {
		t.Errorf("a login (roster get + initial presence) read %d documents, want 1", reads)
	}
	expectGot(t, a, "alice at login", "presence:available:bob@localhost/b")
	expectGot(t, b, "bob sees alice come online", "presence:available:alice@localhost/a")
}

func TestDirectedPresenceGetsUnavailableAtLogout(t *testing.T) {
	h := newHarness(t, nil)
	a := h.bind("alice@localhost/a")
	h.online(a)
	h.pres(a, "", "room@muc.localhost/alice")
	h.pres(a, "", "carol@localhost")
	h.pres(a, "", "dave@localhost")
	h.pres(a, "unavailable", "dave@localhost")
	h.mu.Lock()
	h.rt = nil
	h.mu.Unlock()
	gone := stanzaUnavailable(a.j.String())
	h.svc.presence(context.Background(), h.e, a, gone)
	var got []string
	for _, st := range h.rt {
		got = append(got, st.Get("type")+"→"+st.Get("to"))
	}
	slices.Sort(got)
	if want := []string{"unavailable→carol@localhost", "unavailable→room@muc.localhost/alice"}; !slices.Equal(got, want) {
		t.Errorf("at logout: %v, want %v", got, want)
	}
}

func TestConcurrentSetsFromTwoResourcesLoseNothing(t *testing.T) {
	h := newHarness(t, nil)
	rs := []*fakeRes{h.bind("alice@localhost/1"), h.bind("alice@localhost/2")}
	const n = 25
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range n {
				if _, err := h.iq(r, "set", fmt.Sprintf(q, fmt.Sprintf("<item jid='c%d-%d@localhost'/>", i, k))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	doc, _ := h.svc.store.Load(context.Background(), "alice@localhost")
	if got := listedCount(doc); got != 2*n {
		t.Errorf("after concurrent sets the roster lists %d contacts, want %d", got, 2*n)
	}
}

func TestVersioning(t *testing.T) {
	h := newHarness(t, nil)
	a := h.bind("alice@localhost/a")
	for _, c := range []string{"b", "c", "d", "e"} {
		h.iq(a, "set", fmt.Sprintf(q, "<item jid='"+c+"@localhost'/>"))
	}
	res, _ := h.iq(a, "get", "<query xmlns='jabber:iq:roster' ver=''/>")
	ver := res.Get("ver")
	if ver == "" || len(res.Elements()) != 4 {
		t.Fatalf("versioned full roster: %s", res)
	}
	if res, _ := h.iq(a, "get", "<query xmlns='jabber:iq:roster' ver='"+ver+"'/>"); res != nil {
		t.Errorf("same version: %s, want an empty result", res)
	}
	a.take()
	b := h.bind("alice@localhost/b")
	h.iq(b, "set", fmt.Sprintf(q, "<item jid='b@localhost' subscription='remove'/>"))
	a.take()
	res, _ = h.iq(a, "get", "<query xmlns='jabber:iq:roster' ver='"+ver+"'/>")
	got := a.take()
	if res != nil || len(got) == 0 {
		t.Fatalf("behind by one removal: result %v and %d pushes, want an empty result and pushes", res, len(got))
	}
	last := got[len(got)-1].Child(nsRoster, "query")
	if it := last.Child(nsRoster, "item"); it.Get("jid") != "b@localhost" || it.Get("subscription") != "remove" {
		t.Errorf("last push %s, want the removal of b", last)
	}
	cur, _ := h.iq(a, "get", "<query xmlns='jabber:iq:roster' ver=''/>")
	if last.Get("ver") != cur.Get("ver") {
		t.Errorf("last push ver %q, current %q", last.Get("ver"), cur.Get("ver"))
	}
	// A version from before the pruned tombstones gets the whole roster.
	if res, _ := h.iq(a, "get", "<query xmlns='jabber:iq:roster' ver='junk'/>"); res == nil || len(res.Elements()) != 3 {
		t.Errorf("unknown version: %v, want the full roster of 3", res)
	}
}

// expectGot checks, in order, what r received since the last check.
func expectGot(t *testing.T, r *fakeRes, what string, want ...string) {
	t.Helper()
	if got := describe(r.take()); !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
