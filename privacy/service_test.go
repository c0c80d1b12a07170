package privacy

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage/pebble"
)

// parseXML reads one element from s (tests only).
func parseXML(s string) (*stanza.Element, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return stanza.Read(d, start, 32)
		}
	}
}

// fakeRes is a bound resource that records what it is sent.
type fakeRes struct {
	j  jid.JID
	mu sync.Mutex
	in []*stanza.Element
}

func (f *fakeRes) JID() jid.JID                  { return f.j }
func (f *fakeRes) Available() (bool, int)        { return true, 0 }
func (f *fakeRes) LastPresence() *stanza.Element { return stanza.New(stanza.NSClient, "presence") }
func (f *fakeRes) Send(st *stanza.Element) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.in = append(f.in, st)
	return nil
}

func (f *fakeRes) take() []*stanza.Element {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.in
	f.in = nil
	return got
}

type harness struct {
	t      testing.TB
	svc    *Service
	routed []*stanza.Element
}

func newHarness(t testing.TB) *harness { return newHarnessPolicy(t, crdt.CompactPolicy{}) }

func newHarnessPolicy(t testing.TB, policy crdt.CompactPolicy) *harness {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := New(Options{
		Store:   crdtstore.New(db.Documents(), Kind, crdt.NewWriter("test", crdt.NewHLC(nil)), policy),
		Metrics: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, svc: svc}
}

func (h *harness) bind(full string) *fakeRes {
	r := &fakeRes{j: jid.MustParse(full)}
	h.svc.bind(context.Background(), r)
	return r
}

func (h *harness) env() env {
	return env{route: func(_ context.Context, st *stanza.Element) { h.routed = append(h.routed, st) }}
}

// iq runs a privacy query from r and its pushes.
func (h *harness) iq(r *fakeRes, typ, body string) (*stanza.Element, error) {
	q, err := parseXML("<query xmlns='jabber:iq:privacy'>" + body + "</query>")
	if err != nil {
		h.t.Fatal(err)
	}
	res, after, err := h.svc.privacyQuery(context.Background(), h.env(), r, typ, q)
	for _, f := range after {
		f()
	}
	return res, err
}

func (h *harness) must(r *fakeRes, typ, body string) *stanza.Element {
	h.t.Helper()
	res, err := h.iq(r, typ, body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", typ, body, err)
	}
	return res
}

func condition(err error) c2s.Condition {
	var se *c2s.StanzaError
	if errors.As(err, &se) {
		return se.Condition
	}
	return ""
}

func msgFrom(from string) *stanza.Element {
	return stanza.New(stanza.NSClient, "message", "from", from, "type", "chat")
}

func TestQueryErrors(t *testing.T) {
	h := newHarness(t)
	a := h.bind("alice@localhost/a")
	h.must(a, "set", "<list name='l'><item type='jid' value='bob@localhost' action='deny' order='1'/></list>")
	tests := []struct {
		name, typ, body string
		want            c2s.Condition
	}{
		{name: "two lists in a get", typ: "get", body: "<list name='l'/><list name='m'/>", want: c2s.CondBadRequest},
		{name: "unknown list", typ: "get", body: "<list name='x'/>", want: c2s.CondItemNotFound},
		{name: "empty set", typ: "set", body: "", want: c2s.CondBadRequest},
		{name: "two children", typ: "set", body: "<active name='l'/><default name='l'/>", want: c2s.CondBadRequest},
		{name: "active unknown", typ: "set", body: "<active name='x'/>", want: c2s.CondItemNotFound},
		{name: "default unknown", typ: "set", body: "<default name='x'/>", want: c2s.CondItemNotFound},
		{name: "remove unknown list", typ: "set", body: "<list name='x'/>", want: c2s.CondItemNotFound},
		{name: "list without name", typ: "set", body: "<list><item action='deny' order='1'/></list>", want: c2s.CondBadRequest},
		{name: "duplicate order", typ: "set", body: "<list name='m'><item action='deny' order='1'/><item action='allow' order='1'/></list>", want: c2s.CondBadRequest},
		{name: "no order", typ: "set", body: "<list name='m'><item action='deny'/></list>", want: c2s.CondBadRequest},
		{name: "negative order", typ: "set", body: "<list name='m'><item action='deny' order='-1'/></list>", want: c2s.CondBadRequest},
		{name: "bad action", typ: "set", body: "<list name='m'><item action='block' order='1'/></list>", want: c2s.CondBadRequest},
		{name: "bad type", typ: "set", body: "<list name='m'><item type='ip' value='x' action='deny' order='1'/></list>", want: c2s.CondBadRequest},
		{name: "bad jid", typ: "set", body: "<list name='m'><item type='jid' value='a@b@c' action='deny' order='1'/></list>", want: c2s.CondBadRequest},
		{name: "unknown child", typ: "set", body: "<list name='m'><item action='deny' order='1'><presence/></item></list>", want: c2s.CondBadRequest},
		{name: "remove from unknown", typ: "set", body: "<remove name='x'><item value='bob@localhost'/></remove>", want: c2s.CondItemNotFound},
		{name: "add malformed", typ: "set", body: "<add name='l'><item type='jid' action='deny' order='5'/></add>", want: c2s.CondBadRequest},
		{name: "add taken order", typ: "set", body: "<add name='l'><item type='jid' value='c@localhost' action='deny' order='1'/></add>", want: c2s.CondBadRequest},
		{name: "add without name", typ: "set", body: "<add><item action='deny' order='5'/></add>", want: c2s.CondBadRequest},
		{name: "mixed", typ: "set", body: "<add name='l'/><active name='l'/>", want: c2s.CondBadRequest},
	}
	for _, tt := range tests {
		if _, err := h.iq(a, tt.typ, tt.body); condition(err) != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
		}
	}
	// Nothing of the failed requests was written.
	res := h.must(a, "get", "")
	var names []string
	for _, el := range res.Elements() {
		names = append(names, el.Name.Local+":"+el.Get("name"))
	}
	if fmt.Sprint(names) != "[list:l]" {
		t.Errorf("lists after failed requests: %v", names)
	}
}

func TestIncrementalAtomicAndImmediate(t *testing.T) {
	h := newHarness(t)
	a1, a2 := h.bind("alice@localhost/1"), h.bind("alice@localhost/2")
	h.must(a1, "set", "<list name='ignore'><item type='jid' value='bob@localhost' action='deny' order='1'/></list>")
	h.must(a1, "set", "<active name='ignore'/>")
	a1.take()
	a2.take()
	if h.svc.filterInbound(a1.j, a1, msgFrom("bob@localhost/x")) {
		t.Fatal("bob's message passed the active list")
	}
	if !h.svc.filterInbound(a1.j, a1, msgFrom("carol@localhost/x")) {
		t.Fatal("carol's message was refused before she was added")
	}
	// Add carol and remove bob in one IQ: both take effect at once.
	h.must(a1, "set", "<add name='ignore'><item type='jid' value='Carol@localhost' action='deny' order='2'/></add>"+
		"<remove name='ignore'><item value='bob@localhost'/></remove>")
	if h.svc.filterInbound(a1.j, a1, msgFrom("carol@localhost/x")) {
		t.Error("carol's message passed after the add")
	}
	if !h.svc.filterInbound(a1.j, a1, msgFrom("bob@localhost/x")) {
		t.Error("bob's message refused after the remove")
	}
	for _, r := range []*fakeRes{a1, a2} {
		got := r.take()
		if len(got) != 1 || got[0].Child(nsPrivacy, "query").Child(nsPrivacy, "list").Get("name") != "ignore" {
			t.Errorf("%s got %v, want one push of 'ignore'", r.j, got)
		}
	}
	// A failing edit leaves everything as it was.
	_, err := h.iq(a1, "set", "<add name='ignore'><item type='jid' value='dave@localhost' action='deny' order='3'/></add>"+
		"<remove name='nope'><item value='carol@localhost'/></remove>")
	if condition(err) != c2s.CondItemNotFound {
		t.Fatalf("remove from an unknown list: %v", err)
	}
	if !h.svc.filterInbound(a1.j, a1, msgFrom("dave@localhost/x")) {
		t.Error("the add of a failed request took effect")
	}
	res := h.must(a1, "get", "<list name='ignore'/>")
	items := res.Child(nsPrivacy, "list").Elements()
	if len(items) != 1 || items[0].Get("value") != "carol@localhost" {
		t.Errorf("list after edits: %v", res)
	}
}

func TestDefaultAppliesOfflineAndConflicts(t *testing.T) {
	h := newHarness(t)
	a1, a2 := h.bind("alice@localhost/1"), h.bind("alice@localhost/2")
	h.must(a1, "set", "<list name='d'><item type='jid' value='bob@localhost' action='deny' order='1'><message/></item></list>")
	h.must(a1, "set", "<default name='d'/>")
	if h.svc.filterInbound(a2.j, a2, msgFrom("bob@localhost/x")) {
		t.Error("the default list does not apply to a resource without an active list")
	}
	if _, err := h.iq(a1, "set", "<default/>"); condition(err) != c2s.CondConflict {
		t.Errorf("decline a default used by another resource: %v", err)
	}
	if _, err := h.iq(a1, "set", "<list name='d'/>"); condition(err) != c2s.CondConflict {
		t.Errorf("remove a list used by another resource: %v", err)
	}
	h.svc.unbind(a1)
	h.svc.unbind(a2)
	// Offline: the default is consulted (cached) for storage.
	bob := msgFrom("bob@localhost/x")
	if h.svc.filterInbound(jid.MustParse("alice@localhost"), nil, bob) {
		t.Error("an offline message from bob passed the default list")
	}
	// Another user's offline default is read from storage once.
	if !h.svc.filterInbound(jid.MustParse("zed@localhost"), nil, bob) {
		t.Error("a user without lists refused a message")
	}
}

func TestOutboundAndBlocking(t *testing.T) {
	h := newHarness(t)
	a := h.bind("alice@localhost/1")
	q, _ := parseXML("<block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></block>")
	if _, after, err := h.svc.blocking(context.Background(), h.env(), a, "set", q); err != nil {
		t.Fatal(err)
	} else {
		for _, f := range after {
			f()
		}
	}
	st := h.svc.stateOf(a)
	drop, serr := h.svc.outbound(st, msgFrom("alice@localhost/1"), "bob@localhost", nil)
	if !drop || serr == nil || serr.Condition != c2s.CondNotAcceptable || serr.App == nil || serr.App.Name.Local != "blocked" {
		t.Errorf("message to a blocked contact: drop %v, %v", drop, serr)
	}
	pres := stanza.New(stanza.NSClient, "presence")
	if drop, serr := h.svc.outbound(st, pres, "bob@localhost", nil); !drop || serr != nil {
		t.Errorf("presence to a blocked contact: drop %v, %v (want a silent drop)", drop, serr)
	}
	if h.svc.filterInbound(a.j, a, msgFrom("bob@localhost/x")) {
		t.Error("message from a blocked contact passed")
	}
	p := pres.Copy()
	p.Set("from", "bob@localhost/x")
	if h.svc.filterInbound(a.j, a, p) {
		t.Error("presence from a blocked contact passed")
	}
	res, _, err := h.svc.blocking(context.Background(), h.env(), a, "get", stanza.New(nsBlocking, "blocklist"))
	if err != nil || len(res.Elements()) != 1 || res.Elements()[0].Get("jid") != "bob@localhost" {
		t.Errorf("blocklist = %v, %v", res, err)
	}
	bad, _ := parseXML("<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>")
	if _, _, err := h.svc.blocking(context.Background(), h.env(), a, "set", bad); condition(err) != c2s.CondJIDMalformed {
		t.Errorf("block of an invalid JID: %v", err)
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.updates.WithLabelValues("list").Inc()
	m.blocked.WithLabelValues("in", "message").Inc()
	m.pushes.WithLabelValues("list").Inc()
	m.loads.WithLabelValues("bind").Inc()
	m.storeErrors.Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 5 {
		t.Errorf("gathered %d metrics, want 5", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "xmppd_privacy_") {
			t.Errorf("metric %s is not named xmppd_privacy_…", mf.GetName())
		}
	}
}

// TestIncrementalGate: with AllowIncremental refusing alice, her <add/> gets
// feature-not-implemented and changes nothing, while a whole-list set and
// bob's incremental update still work.
func TestIncrementalGate(t *testing.T) {
	h := newHarness(t)
	h.svc.allowIncremental = func(user jid.JID) bool { return user.Localpart() != "alice" }
	a := h.bind("alice@localhost/a")
	b := h.bind("bob@localhost/b")
	_, err := h.iq(a, "set", "<add name='l'><item type='jid' value='c@localhost' action='deny' order='1'/></add>")
	if condition(err) != c2s.CondFeatureNotImplemented {
		t.Fatalf("gated add: %v, want feature-not-implemented", err)
	}
	if _, err := h.iq(a, "get", "<list name='l'/>"); condition(err) != c2s.CondItemNotFound {
		t.Fatalf("the refused add created a list: %v", err)
	}
	h.must(a, "set", "<list name='l'><item type='jid' value='c@localhost' action='deny' order='1'/></list>")
	h.must(b, "set", "<add name='l'><item type='jid' value='c@localhost' action='deny' order='1'/></add>")
}
