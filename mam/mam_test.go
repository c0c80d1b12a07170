package mam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

// clock is a fake time source that advances one second per call.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type harness struct {
	svc    *Service
	db     *pebble.DB
	clock  *clock
	roster map[string]bool // "owner|contact"
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{db: db, clock: &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, roster: map[string]bool{}}
	h.svc, err = New(Options{
		Archives: db.Archives(), KV: db.KV(), Metrics: prometheus.NewRegistry(), Config: cfg, Now: h.clock.now,
		InRoster: func(_ context.Context, owner, contact string) (bool, error) { return h.roster[owner+"|"+contact], nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustJID(s string) jid.JID { return jid.MustParse(s) }

func chat(from, to, body string, extra ...*stanza.Element) *stanza.Element {
	m := stanza.New(stanza.NSClient, "message", "from", from, "to", to, "type", "chat")
	if body != "" {
		m.Append(stanza.New(stanza.NSClient, "body").SetText(body))
	}
	return m.Append(extra...)
}

// send routes msg through both hooks as the core would for a local
// recipient and returns what the recipient would get.
func (h *harness) send(msg *stanza.Element) *stanza.Element {
	ctx := context.Background()
	h.svc.outgoing(ctx, mustJID(msg.Get("from")).Bare(), msg)
	h.svc.onIn(ctx, mustJID(msg.Get("to")).Bare(), msg)
	return msg
}

// query runs a query as owner and returns the result ids, the fin and the
// error condition.
func (h *harness) query(owner, inner string) (ids []string, fin *stanza.Element, cond string) {
	payload, err := parse(`<query xmlns='urn:xmpp:mam:2' queryid='q'>` + inner + `</query>`)
	if err != nil {
		panic(err)
	}
	var got []*stanza.Element
	fin, err = h.svc.query(context.Background(), mustJID(owner+"/r"), "iq1", payload, func(st *stanza.Element) error {
		got = append(got, st)
		return nil
	})
	if err != nil {
		return nil, nil, string(c2s.AsStanzaError(err).Condition)
	}
	for _, m := range got {
		r := m.Child(NS, "result")
		ids = append(ids, r.Child(nsForward, "forwarded").Child(stanza.NSClient, "message").ChildText(stanza.NSClient, "body"))
	}
	return ids, fin, ""
}

func parse(s string) (*stanza.Element, error) { return decode([]byte(s)) }

func form(fields ...string) string {
	var b strings.Builder
	b.WriteString(`<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>`)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, `<field var='%s'><value>%s</value></field>`, fields[i], fields[i+1])
	}
	b.WriteString(`</x>`)
	return b.String()
}

func rsm(inner string) string {
	return `<set xmlns='http://jabber.org/protocol/rsm'>` + inner + `</set>`
}

func TestArchivable(t *testing.T) {
	hint := func(name string) *stanza.Element { return stanza.New(nsHints, name) }
	tests := []struct {
		name string
		msg  *stanza.Element
		want bool
	}{
		{name: "chat with body", msg: chat("a@x/r", "b@x", "hi"), want: true},
		{name: "normal (no type) with body", msg: stanza.New(stanza.NSClient, "message").Append(stanza.New(stanza.NSClient, "body").SetText("x")), want: true},
		{name: "chat state only", msg: chat("a@x/r", "b@x", "", stanza.New("http://jabber.org/protocol/chatstates", "composing"))},
		{name: "receipt only", msg: chat("a@x/r", "b@x", "", stanza.New("urn:xmpp:receipts", "received", "id", "1"))},
		{name: "store hint without body", msg: chat("a@x/r", "b@x", "", hint("store")), want: true},
		{name: "no-store", msg: chat("a@x/r", "b@x", "hi", hint("no-store"))},
		{name: "no-permanent-store", msg: chat("a@x/r", "b@x", "hi", hint("no-permanent-store"))},
		{name: "groupchat", msg: stanza.New(stanza.NSClient, "message", "type", "groupchat").Append(stanza.New(stanza.NSClient, "body").SetText("x"))},
		{name: "headline", msg: stanza.New(stanza.NSClient, "message", "type", "headline").Append(stanza.New(stanza.NSClient, "body").SetText("x"))},
		{name: "error", msg: stanza.New(stanza.NSClient, "message", "type", "error").Append(stanza.New(stanza.NSClient, "body").SetText("x"))},
	}
	for _, tt := range tests {
		if got := archivable(tt.msg); got != tt.want {
			t.Errorf("%s: archivable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBothArchivesAndStanzaID(t *testing.T) {
	h := newHarness(t, Config{})
	forged := stanza.New(NSSID, "stanza-id", "by", "bob@x", "id", "forged")
	other := stanza.New(NSSID, "stanza-id", "by", "room@muc.x", "id", "kept")
	got := h.send(chat("alice@x/a", "bob@x", "one", forged, other))
	var ids []*stanza.Element
	for _, c := range got.Elements() {
		if c.Name.Space == NSSID && c.Name.Local == "stanza-id" {
			ids = append(ids, c)
		}
	}
	if len(ids) != 2 || ids[0].Get("id") != "kept" || ids[1].Get("by") != "bob@x" || ids[1].Get("id") == "forged" {
		t.Fatalf("stanza ids = %v; want the foreign one kept and ours replacing the forged one", ids)
	}
	ourID := ids[1].Get("id")
	if _, err := h.db.Archives().Get(context.Background(), storage.Key{Kind: Kind, User: "bob@x"}, ourID); err != nil {
		t.Errorf("stanza id %s is not an entry of bob's archive: %v", ourID, err)
	}
	for _, owner := range []string{"alice@x", "bob@x"} {
		if bodies, _, cond := h.query(owner, ""); cond != "" || strings.Join(bodies, ",") != "one" {
			t.Errorf("%s's archive = %v (%s), want [one]", owner, bodies, cond)
		}
	}
	// To oneself: one entry.
	h.send(chat("alice@x/a", "alice@x", "note to self"))
	if bodies, _, _ := h.query("alice@x", ""); strings.Join(bodies, ",") != "one,note to self" {
		t.Errorf("alice's archive = %v, want one entry per message", bodies)
	}
	// Without body: not archived, not stamped.
	cs := h.send(chat("alice@x/a", "bob@x", "", stanza.New("http://jabber.org/protocol/chatstates", "composing")))
	if cs.Child(NSSID, "stanza-id") != nil {
		t.Errorf("chat state stamped with a stanza id: %s", cs)
	}
	if bodies, _, _ := h.query("bob@x", ""); len(bodies) != 1 {
		t.Errorf("bob's archive = %v after a chat state, want one entry", bodies)
	}
}

func TestPreferences(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	set := func(owner, xml string) (*stanza.Element, string) {
		p, err := parse(xml)
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.svc.handlePrefs(ctx, &c2s.IQ{From: mustJID(owner + "/r"), Type: "set", Payload: p})
		if err != nil {
			return nil, string(c2s.AsStanzaError(err).Condition)
		}
		return res, ""
	}
	for _, tt := range []struct{ name, xml, cond string }{
		{name: "bad default", xml: `<prefs xmlns='urn:xmpp:mam:2' default='sometimes'/>`, cond: "bad-request"},
		{name: "bad jid", xml: `<prefs xmlns='urn:xmpp:mam:2' default='always'><always><jid>@@</jid></always></prefs>`, cond: "jid-malformed"},
		{name: "foreign child", xml: `<prefs xmlns='urn:xmpp:mam:2' default='always'><never><item/></never></prefs>`, cond: "bad-request"},
	} {
		if _, cond := set("alice@x", tt.xml); cond != tt.cond {
			t.Errorf("%s: condition %q, want %q", tt.name, cond, tt.cond)
		}
	}
	res, cond := set("alice@x", `<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>carol@x</jid></always><never><jid>dave@x</jid><jid>Dave@x</jid></never></prefs>`)
	if cond != "" {
		t.Fatal(cond)
	}
	if got := res.String(); !strings.Contains(got, "default='roster'") || strings.Count(got, "dave@x") != 1 {
		t.Errorf("prefs result = %s", got)
	}
	got, err := h.svc.handlePrefs(ctx, &c2s.IQ{From: mustJID("alice@x/r"), Type: "get", Payload: stanza.New(NS, "prefs")})
	if err != nil || got.String() != res.String() {
		t.Errorf("prefs get = %v, %v; want %s", got, err, res)
	}
	h.roster["alice@x|bob@x"] = true
	h.roster["alice@x|dave@x"] = true
	for _, from := range []string{"bob@x/1", "carol@x/1", "dave@x/1", "erin@x/1"} {
		h.send(chat(from, "alice@x", "from "+strings.Split(from, "@")[0]))
	}
	if bodies, _, _ := h.query("alice@x", ""); strings.Join(bodies, ",") != "from bob,from carol" {
		t.Errorf("roster mode archived %v, want bob (roster) and carol (always), not dave (never) nor erin", bodies)
	}
	// Never by default, but always for one.
	set("bob@x", `<prefs xmlns='urn:xmpp:mam:2' default='never'><always><jid>erin@x/phone</jid></always></prefs>`)
	h.send(chat("erin@x/phone", "bob@x", "phone"))
	h.send(chat("erin@x/pc", "bob@x", "pc"))
	if bodies, _, _ := h.query("bob@x", ""); strings.Join(bodies, ",") != "from bob,phone" {
		t.Errorf("never + full-JID always archived %v, want [from bob (sent before), phone]", bodies)
	}
}

func TestQueryPagingAndFilters(t *testing.T) {
	h := newHarness(t, Config{})
	var sent []*stanza.Element
	for i := 1; i <= 7; i++ {
		from := "bob@x/b"
		if i%2 == 0 {
			from = "carol@x/c"
		}
		sent = append(sent, h.send(chat(from, "alice@x", fmt.Sprint(i))))
	}
	id := func(n int) string { return sent[n-1].Child(NSSID, "stanza-id").Get("id") }
	tests := []struct {
		name      string
		inner     string
		want      string
		complete  bool
		count     string
		index     string
		cond      string
		firstLast string
	}{
		{name: "all", want: "1,2,3,4,5,6,7", complete: true, count: "7", index: "0"},
		{name: "first page", inner: rsm("<max>3</max>"), want: "1,2,3", count: "7", index: "0"},
		{name: "next page", inner: rsm("<max>3</max><after>" + id(3) + "</after>"), want: "4,5,6", count: "7", index: "3"},
		{name: "last forward page", inner: rsm("<max>3</max><after>" + id(6) + "</after>"), want: "7", complete: true, count: "7", index: "6"},
		{name: "empty before is the last page", inner: rsm("<max>3</max><before/>"), want: "5,6,7", count: "7", index: "4"},
		{name: "before id", inner: rsm("<max>3</max><before>" + id(5) + "</before>"), want: "2,3,4", count: "7", index: "1"},
		{name: "first backward page is complete", inner: rsm("<max>3</max><before>" + id(3) + "</before>"), want: "1,2", complete: true, count: "7", index: "0"},
		{name: "with bare", inner: form("with", "carol@x"), want: "2,4,6", complete: true, count: "3", index: "0"},
		{name: "with full", inner: form("with", "bob@x/b"), want: "1,3,5,7", complete: true},
		{name: "with full, other resource", inner: form("with", "bob@x/other"), want: "", complete: true},
		{name: "with full paged", inner: form("with", "bob@x/b") + rsm("<max>2</max>"), want: "1,3"},
		{name: "after-id and before-id", inner: form("after-id", id(2), "before-id", id(6)), want: "3,4,5", complete: true, count: "3", index: "0"},
		{name: "empty form", inner: form(), want: "1,2,3,4,5,6,7", complete: true, count: "7", index: "0"},
		{name: "max 0 counts", inner: rsm("<max>0</max>"), want: "", count: "7"},
		{name: "flip page", inner: rsm("<max>2</max><before/>") + `<flip-page/>`, want: "7,6", count: "7", index: "5"},
		{name: "unknown after", inner: rsm("<after>nope</after>"), cond: "item-not-found"},
		{name: "unknown before-id", inner: form("before-id", "nope"), cond: "item-not-found"},
		{name: "unknown field", inner: form("fulltext", "x"), cond: "bad-request"},
		{name: "bad start", inner: form("start", "yesterday"), cond: "bad-request"},
		{name: "bad with", inner: form("with", "@@"), cond: "jid-malformed"},
		{name: "bad max", inner: rsm("<max>-1</max>"), cond: "bad-request"},
		{name: "index paging", inner: rsm("<index>2</index>"), cond: "feature-not-implemented"},
		{name: "wrong form type", inner: `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x>`, cond: "bad-request"},
	}
	for _, tt := range tests {
		bodies, fin, cond := h.query("alice@x", tt.inner)
		if cond != tt.cond {
			t.Errorf("%s: condition %q, want %q", tt.name, cond, tt.cond)
			continue
		}
		if cond != "" {
			continue
		}
		if got := strings.Join(bodies, ","); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if got := fin.Get("complete") == "true"; got != tt.complete {
			t.Errorf("%s: complete = %v, want %v (%s)", tt.name, got, tt.complete, fin)
		}
		set := fin.Child(nsRSM, "set")
		if got := set.ChildText(nsRSM, "count"); got != tt.count {
			t.Errorf("%s: count = %q, want %q", tt.name, got, tt.count)
		}
		if first := set.Child(nsRSM, "first"); first != nil && first.Get("index") != tt.index {
			t.Errorf("%s: first index = %q, want %q", tt.name, first.Get("index"), tt.index)
		}
		if fin.Get("queryid") != "q" {
			t.Errorf("%s: fin queryid = %q", tt.name, fin.Get("queryid"))
		}
	}
	bodies, _, _ := h.query("alice@x", form("ids", id(5))+"")
	if strings.Join(bodies, ",") != "5" {
		t.Errorf("ids = %v, want [5]", bodies)
	}
	if _, _, cond := h.query("alice@x", form("ids", "nope")); cond != "item-not-found" {
		t.Errorf("unknown ids: %q, want item-not-found", cond)
	}
	// Time filters, inclusive at both ends.
	all, _, _ := h.query("alice@x", "")
	if len(all) != 7 {
		t.Fatal(all)
	}
	e3, err := h.db.Archives().Get(context.Background(), storage.Key{Kind: Kind, User: "alice@x"}, id(3))
	if err != nil {
		t.Fatal(err)
	}
	e5, _ := h.db.Archives().Get(context.Background(), storage.Key{Kind: Kind, User: "alice@x"}, id(5))
	if bodies, _, _ := h.query("alice@x", form("start", e3.Time.Format(time.RFC3339Nano), "end", e5.Time.Format(time.RFC3339Nano))); strings.Join(bodies, ",") != "3,4,5" {
		t.Errorf("start/end = %v, want [3 4 5]", bodies)
	}
}

func TestQueryResultShape(t *testing.T) {
	h := newHarness(t, Config{})
	h.send(chat("bob@x/b", "alice@x", "hello"))
	payload, _ := parse(`<query xmlns='urn:xmpp:mam:2' queryid='f27'/>`)
	var got []*stanza.Element
	if _, err := h.svc.query(context.Background(), mustJID("alice@x/phone"), "iq7", payload, func(st *stanza.Element) error {
		got = append(got, st)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d results", len(got))
	}
	m := got[0]
	r := m.Child(NS, "result")
	fwd := r.Child(nsForward, "forwarded")
	orig := fwd.Child(stanza.NSClient, "message")
	if m.Get("to") != "alice@x/phone" || r.Get("queryid") != "f27" || r.Get("id") == "" ||
		fwd.Child(nsDelay, "delay").Get("stamp") == "" || orig.Get("from") != "bob@x/b" || orig.ChildText(stanza.NSClient, "body") != "hello" {
		t.Errorf("result = %s", m)
	}
	// A gone session fails the query.
	gone := errors.New("gone")
	if _, err := h.svc.query(context.Background(), mustJID("alice@x/phone"), "iq8", payload, func(*stanza.Element) error { return gone }); !errors.Is(err, gone) {
		t.Errorf("query with a failing send = %v, want %v", err, gone)
	}
}

func TestRetention(t *testing.T) {
	h := newHarness(t, Config{Retention: c2s.Duration(time.Hour)})
	h.send(chat("bob@x/b", "alice@x", "old"))
	h.clock.mu.Lock()
	h.clock.t = h.clock.t.Add(2 * time.Hour)
	h.clock.mu.Unlock()
	old, _, _ := h.query("alice@x", "")
	if len(old) != 0 {
		t.Errorf("expired entries returned: %v", old)
	}
	h.send(chat("bob@x/b", "alice@x", "new"))
	res, err := h.db.Archives().Query(context.Background(), storage.Key{Kind: Kind, User: "alice@x"}, storage.ArchiveQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		t.Errorf("after a write past the retention, %d entries stored, want 1 (expired ones deleted)", len(res.Entries))
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "zero", ok: true},
		{name: "roster default", cfg: Config{Default: "roster"}, ok: true},
		{name: "bad default", cfg: Config{Default: "sometimes"}},
		{name: "negative retention", cfg: Config{Retention: c2s.Duration(-time.Second)}},
		{name: "page above max", cfg: Config{DefaultPage: 300, MaxPage: 100}},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetricsNamed(reg, "xmppd_mam_")
	if err != nil {
		t.Fatal(err)
	}
	m.archived.WithLabelValues("in").Inc()
	m.skipped.WithLabelValues("prefs").Inc()
	m.errors.WithLabelValues("append").Inc()
	m.queries.WithLabelValues("ok").Inc()
	if err := metrics.Lint(reg, "mam"); err != nil {
		t.Error(err)
	}
}
