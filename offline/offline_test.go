package offline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("X", 3600))

const wantStamp = "2025-03-04T04:06:07.890Z"

type harness struct {
	svc *Service
	db  *pebble.DB
	reg *prometheus.Registry
	dir string
}

func newHarness(t *testing.T, cfg Config, popts pebble.Options) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir()}
	h.open(t, cfg, popts)
	return h
}

func (h *harness) open(t *testing.T, cfg Config, popts pebble.Options) {
	t.Helper()
	db, err := pebble.Open(h.dir, popts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.reg = prometheus.NewRegistry()
	h.svc, err = New(Options{Queues: db.Queues(), Domain: "localhost", Metrics: h.reg, Config: cfg, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) queueLen(t *testing.T, bare string) int {
	t.Helper()
	n, err := h.db.Queues().Len(context.Background(), key(bare))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// storeN stores messages m1…mn for bob.
func (h *harness) storeN(t *testing.T, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := h.svc.store(context.Background(), mustJID("bob@localhost"), msg("bob@localhost", fmt.Sprint("m", i), "chat", "x")); err != nil {
			t.Fatalf("store m%d: %v", i, err)
		}
	}
}

func msg(to, id, typ, payload string) *stanza.Element {
	m := stanza.New(stanza.NSClient, "message", "from", "alice@localhost/a", "to", to, "id", id, "type", typ)
	if payload != "" {
		m.Append(stanza.New(stanza.NSClient, "body").SetText(payload))
	}
	return m
}

func mustJID(s string) jid.JID { return jid.MustParse(s) }

// fakeRes is a resource that records what it is sent; after failAfter
// successful sends (when >= 0) it reports ErrGone.
type fakeRes struct {
	j         jid.JID
	avail     bool
	prio      int
	failAfter int

	mu  sync.Mutex
	got []*stanza.Element
}

func newRes(full string, prio int) *fakeRes {
	return &fakeRes{j: mustJID(full), avail: true, prio: prio, failAfter: -1}
}

func (r *fakeRes) JID() jid.JID                  { return r.j }
func (r *fakeRes) Available() (bool, int)        { return r.avail, r.prio }
func (r *fakeRes) LastPresence() *stanza.Element { return nil }
func (r *fakeRes) Send(st *stanza.Element) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAfter >= 0 && len(r.got) >= r.failAfter {
		return c2s.ErrGone
	}
	r.got = append(r.got, st)
	return nil
}

func (r *fakeRes) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, m := range r.got {
		ids = append(ids, m.Get("id"))
	}
	return ids
}

type fakeDir struct{ rs map[string][]c2s.Resource }

func (d fakeDir) Resources(bare string) []c2s.Resource { return d.rs[bare] }
func (d fakeDir) Bind(c2s.Resource) c2s.Resource       { return nil }
func (d fakeDir) Unbind(c2s.Resource)                  {}
func (d fakeDir) Len() int                             { return len(d.rs) }

func TestPolicy(t *testing.T) {
	withChild := func(typ string, children ...*stanza.Element) *stanza.Element {
		m := msg("bob@localhost", "x", typ, "")
		return m.Append(children...)
	}
	body := stanza.New(stanza.NSClient, "body").SetText("hi")
	composing := stanza.New(nsChatStates, "composing")
	tests := []struct {
		name   string
		msg    *stanza.Element
		want   verdict
		reason string
	}{
		{name: "chat with body", msg: withChild("chat", body), want: keep},
		{name: "normal", msg: withChild("normal", body), want: keep},
		{name: "no type", msg: withChild("", body), want: keep},
		{name: "headline", msg: withChild("headline", body), want: dropSilently, reason: "headline"},
		{name: "error", msg: withChild("error", body), want: dropSilently, reason: "error"},
		{name: "groupchat", msg: withChild("groupchat", body), want: refuse, reason: "type"},
		{name: "chat state only", msg: withChild("chat", composing), want: dropSilently, reason: "chat_state"},
		{name: "chat state with thread", msg: withChild("chat", composing, stanza.New(stanza.NSClient, "thread").SetText("t")), want: dropSilently, reason: "chat_state"},
		{name: "chat state with body", msg: withChild("chat", body, composing), want: keep},
		{name: "chat state with other payload", msg: withChild("chat", composing, stanza.New("urn:xmpp:receipts", "received")), want: keep},
		{name: "empty message", msg: withChild("chat"), want: keep},
		{name: "no-store", msg: withChild("chat", body, stanza.New(nsHints, "no-store")), want: refuse, reason: "no_store"},
		{name: "no-store chat state", msg: withChild("chat", composing, stanza.New(nsHints, "no-store")), want: dropSilently, reason: "chat_state"},
		{name: "store forces chat state", msg: withChild("chat", composing, stanza.New(nsHints, "store")), want: keep},
		{name: "no-permanent-store", msg: withChild("chat", body, stanza.New(nsHints, "no-permanent-store")), want: keep},
	}
	for _, tt := range tests {
		v, reason := policy(tt.msg)
		if v != tt.want || reason != tt.reason {
			t.Errorf("%s: policy(%s) = %d, %q; want %d, %q", tt.name, tt.msg, v, reason, tt.want, tt.reason)
		}
	}
}

func TestStoreDeliverInOrderWithDelay(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		to := "bob@localhost"
		if i == 2 {
			to = "bob@localhost/gone" // full JID: stored like the bare one
		}
		if err := h.svc.store(ctx, mustJID(to), msg(to, fmt.Sprint("m", i), "chat", fmt.Sprint("body ", i))); err != nil {
			t.Fatalf("store m%d: %v", i, err)
		}
	}
	if n := h.queueLen(t, "bob@localhost"); n != 3 {
		t.Fatalf("queue length %d, want 3", n)
	}
	r := newRes("bob@localhost/phone", 0)
	n, err := h.svc.deliver(ctx, "bob@localhost", r)
	if err != nil || n != 3 {
		t.Fatalf("deliver = %d, %v; want 3, nil", n, err)
	}
	if got := strings.Join(r.ids(), ","); got != "m1,m2,m3" {
		t.Errorf("delivered %s, want m1,m2,m3", got)
	}
	for i, m := range r.got {
		if b := m.ChildText(stanza.NSClient, "body"); b != fmt.Sprint("body ", i+1) {
			t.Errorf("message %d body %q", i+1, b)
		}
		d := m.Child(nsDelay, "delay")
		if d == nil || d.Get("from") != "localhost" || d.Get("stamp") != wantStamp {
			t.Errorf("message %d delay %v, want from localhost stamp %s", i+1, d, wantStamp)
		}
		if m.Get("from") != "alice@localhost/a" {
			t.Errorf("message %d from %q", i+1, m.Get("from"))
		}
	}
	if n := h.queueLen(t, "bob@localhost"); n != 0 {
		t.Errorf("queue length after delivery %d, want 0", n)
	}
	if again, _ := h.svc.deliver(ctx, "bob@localhost", r); again != 0 {
		t.Errorf("second delivery sent %d, want 0", again)
	}
	if v := testutil.ToFloat64(h.svc.m.stored); v != 3 {
		t.Errorf("stored_total %v, want 3", v)
	}
	if v := testutil.ToFloat64(h.svc.m.delivered); v != 3 {
		t.Errorf("delivered_total %v, want 3", v)
	}
	if c := testutil.CollectAndCount(h.svc.m.queueLength); c != 1 {
		t.Errorf("queue length histogram has %d series", c)
	}
}

func TestStoreDoesNotModifyTheRoutedMessage(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	m := msg("bob@localhost", "m1", "chat", "hi")
	before := m.String()
	if err := h.svc.store(context.Background(), mustJID("bob@localhost"), m); err != nil {
		t.Fatal(err)
	}
	if m.String() != before {
		t.Errorf("store changed the message: %s, was %s", m, before)
	}
}

func TestNotStored(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	body := func(m *stanza.Element, els ...*stanza.Element) *stanza.Element { return m.Append(els...) }
	tests := []struct {
		name string
		msg  *stanza.Element
		want c2s.Condition // "" for a silent drop
	}{
		{name: "headline", msg: msg("bob@localhost", "h", "headline", "news")},
		{name: "error", msg: msg("bob@localhost", "e", "error", "oops")},
		{name: "chat state", msg: body(msg("bob@localhost", "c", "chat", ""), stanza.New(nsChatStates, "active"))},
		{name: "no-store", msg: body(msg("bob@localhost", "n", "chat", "secret"), stanza.New(nsHints, "no-store")), want: c2s.CondServiceUnavailable},
		{name: "groupchat", msg: msg("bob@localhost", "g", "groupchat", "room"), want: c2s.CondServiceUnavailable},
	}
	for _, tt := range tests {
		err := h.svc.store(ctx, mustJID("bob@localhost"), tt.msg)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: store = %v, want a silent drop", tt.name, err)
		case tt.want != "":
			var se *c2s.StanzaError
			if !errors.As(err, &se) || se.Condition != tt.want {
				t.Errorf("%s: store = %v, want %s", tt.name, err, tt.want)
			}
		}
	}
	if n := h.queueLen(t, "bob@localhost"); n != 0 {
		t.Errorf("queue holds %d messages, want none", n)
	}
	for reason, want := range map[string]float64{"headline": 1, "error": 1, "chat_state": 1, "no_store": 1, "type": 1} {
		if v := testutil.ToFloat64(h.svc.m.rejected.WithLabelValues(reason)); v != want {
			t.Errorf("rejected_total{reason=%q} = %v, want %v", reason, v, want)
		}
	}
	forced := body(msg("bob@localhost", "s", "chat", ""), stanza.New(nsChatStates, "gone"), stanza.New(nsHints, "store"))
	if err := h.svc.store(ctx, mustJID("bob@localhost"), forced); err != nil || h.queueLen(t, "bob@localhost") != 1 {
		t.Errorf("chat state with <store/>: %v, queue %d; want stored", err, h.queueLen(t, "bob@localhost"))
	}
}

func TestQuota(t *testing.T) {
	h := newHarness(t, Config{MaxMessages: 2}, pebble.Options{})
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		if err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", fmt.Sprint(i), "chat", "x")); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", "3", "chat", "x"))
	var se *c2s.StanzaError
	if !errors.As(err, &se) || se.Condition != c2s.CondResourceConstraint || se.Type != c2s.Wait {
		t.Fatalf("third message: %v, want resource-constraint (wait)", err)
	}
	if v := testutil.ToFloat64(h.svc.m.rejected.WithLabelValues("quota")); v != 1 {
		t.Errorf("rejected_total{reason=quota} = %v", v)
	}
	// Another user's queue is separate.
	if err := h.svc.store(ctx, mustJID("carol@localhost"), msg("carol@localhost", "c", "chat", "x")); err != nil {
		t.Errorf("carol: %v", err)
	}
	// Delivery makes room again.
	if _, err := h.svc.deliver(ctx, "bob@localhost", newRes("bob@localhost/r", 0)); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", "4", "chat", "x")); err != nil {
		t.Errorf("after delivery: %v", err)
	}
}

func TestDefaultQuota(t *testing.T) {
	if got := (Config{}).maxMessages(); got != DefaultMaxMessages {
		t.Errorf("default max messages %d", got)
	}
	if err := (Config{MaxMessages: -1}).Validate(); err == nil {
		t.Error("Validate accepted a negative max_messages")
	}
	if _, err := New(Options{Queues: nil, Domain: "localhost", Metrics: prometheus.NewRegistry()}); err == nil {
		t.Error("New accepted missing Queues")
	}
}

func TestTooLarge(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{MaxValueSize: 512})
	err := h.svc.store(context.Background(), mustJID("bob@localhost"), msg("bob@localhost", "big", "chat", strings.Repeat("x", 600)))
	var se *c2s.StanzaError
	if !errors.As(err, &se) || se.Condition != c2s.CondNotAcceptable {
		t.Fatalf("store = %v, want not-acceptable", err)
	}
	if v := testutil.ToFloat64(h.svc.m.rejected.WithLabelValues("too_large")); v != 1 {
		t.Errorf("rejected_total{reason=too_large} = %v", v)
	}
}

func TestStorageFailureIsAnError(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	h.db.Close()
	err := h.svc.store(context.Background(), mustJID("bob@localhost"), msg("bob@localhost", "m", "chat", "x"))
	var se *c2s.StanzaError
	if !errors.As(err, &se) || se.Condition != c2s.CondInternalServerError || !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("store on a closed backend = %v, want internal-server-error wrapping ErrClosed", err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	h.storeN(t, 3)
	h.db.Close()
	h.open(t, Config{}, pebble.Options{})
	r := newRes("bob@localhost/r", 0)
	if _, err := h.svc.deliver(ctx, "bob@localhost", r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.ids(), ","); got != "m1,m2,m3" {
		t.Errorf("after reopen delivered %s, want m1,m2,m3", got)
	}
}

func TestConcurrentDeliveryExactlyOnce(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	const n = 450 // several batches
	for i := 0; i < n; i++ {
		if err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", fmt.Sprintf("m%03d", i), "chat", "x")); err != nil {
			t.Fatal(err)
		}
	}
	rs := []*fakeRes{newRes("bob@localhost/1", 0), newRes("bob@localhost/2", 0), newRes("bob@localhost/3", 5)}
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.svc.deliver(ctx, "bob@localhost", r); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, r := range rs {
		ids := r.ids()
		for i, id := range ids {
			seen[id]++
			if i > 0 && ids[i-1] > id {
				t.Errorf("%s got %s after %s", r.j, id, ids[i-1])
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages delivered, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
	if l := h.queueLen(t, "bob@localhost"); l != 0 {
		t.Errorf("queue length %d after delivery", l)
	}
}

func TestResourceGoneMidwayKeepsTheRest(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	h.storeN(t, 5)
	dying := newRes("bob@localhost/1", 0)
	dying.failAfter = 2
	if n, err := h.svc.deliver(ctx, "bob@localhost", dying); n != 2 || !errors.Is(err, c2s.ErrGone) {
		t.Fatalf("deliver to a resource that goes away = %d, %v; want 2, ErrGone", n, err)
	}
	if l := h.queueLen(t, "bob@localhost"); l != 3 {
		t.Fatalf("queue length %d, want the 3 unsent", l)
	}
	next := newRes("bob@localhost/2", 0)
	if _, err := h.svc.deliver(ctx, "bob@localhost", next); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(next.ids(), ","); got != "m3,m4,m5" {
		t.Errorf("next login got %s, want m3,m4,m5", got)
	}
}

// TestRerouteAfterUnwrittenDelivery plays the core's side of the contract
// in-process: a session accepted delivered messages into its queue and its
// TCP connection dropped before they were written, so the core reroutes
// them through OnUndeliverable. They must be stored again, keeping the
// stamp of their first arrival.
func TestRerouteAfterUnwrittenDelivery(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	h.storeN(t, 3)
	dropped := newRes("bob@localhost/1", 0)
	if _, err := h.svc.deliver(ctx, "bob@localhost", dropped); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	h.svc.now = func() time.Time { return later }
	for _, m := range dropped.got { // the core's reroute of the unwritten queue
		if err := h.svc.store(ctx, mustJID("bob@localhost"), m); err != nil {
			t.Fatal(err)
		}
	}
	r := newRes("bob@localhost/2", 0)
	if _, err := h.svc.deliver(ctx, "bob@localhost", r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.ids(), ","); got != "m1,m2,m3" {
		t.Fatalf("after reroute got %s, want m1,m2,m3", got)
	}
	for _, m := range r.got {
		var delays []*stanza.Element
		for _, c := range m.Elements() {
			if c.Name.Space == nsDelay {
				delays = append(delays, c)
			}
		}
		if len(delays) != 1 || delays[0].Get("stamp") != wantStamp {
			t.Errorf("%s: delays %v, want one with the first stamp %s", m.Get("id"), delays, wantStamp)
		}
	}
}

func TestPushRacingALoginIsFlushed(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	online := newRes("bob@localhost/1", 0)
	negative := newRes("bob@localhost/2", -1)
	var d c2s.Directory = fakeDir{rs: map[string][]c2s.Resource{"bob@localhost": {negative, online}}}
	h.svc.dir.Store(&d)
	// bob/1 became available and found its queue empty; the sender had
	// seen no available resource and stores now.
	if err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", "late", "chat", "x")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(online.ids(), ","); got != "late" {
		t.Errorf("available resource got %q, want the late message", got)
	}
	if len(negative.ids()) != 0 {
		t.Errorf("negative-priority resource got %v", negative.ids())
	}
	if l := h.queueLen(t, "bob@localhost"); l != 0 {
		t.Errorf("queue length %d, want 0", l)
	}
	// With only a negative-priority resource, it stays stored.
	d = fakeDir{rs: map[string][]c2s.Resource{"bob@localhost": {negative}}}
	h.svc.dir.Store(&d)
	if err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", "kept", "chat", "x")); err != nil {
		t.Fatal(err)
	}
	if l := h.queueLen(t, "bob@localhost"); l != 1 || len(negative.ids()) != 0 {
		t.Errorf("queue length %d, negative got %v; want 1 and nothing", l, negative.ids())
	}
}

func TestUnreadableItemIsDropped(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	if _, err := h.db.Queues().Push(ctx, key("bob@localhost"), []byte("<message xmlns='jabber:client'><body>"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.Queues().Push(ctx, key("bob@localhost"), []byte("<iq xmlns='jabber:client'/>"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.store(ctx, mustJID("bob@localhost"), msg("bob@localhost", "good", "chat", "x")); err != nil {
		t.Fatal(err)
	}
	r := newRes("bob@localhost/1", 0)
	if _, err := h.svc.deliver(ctx, "bob@localhost", r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.ids(), ","); got != "good" {
		t.Errorf("delivered %q, want only the readable message", got)
	}
	if v := testutil.ToFloat64(h.svc.m.corrupt); v != 2 {
		t.Errorf("corrupt_total %v, want 2", v)
	}
	if l := h.queueLen(t, "bob@localhost"); l != 0 {
		t.Errorf("queue length %d", l)
	}
}

func TestClear(t *testing.T) {
	h := newHarness(t, Config{}, pebble.Options{})
	ctx := context.Background()
	for _, u := range []string{"bob@localhost", "carol@localhost"} {
		if err := h.svc.store(ctx, mustJID(u), msg(u, "m", "chat", "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.Clear(ctx, "bob@localhost"); err != nil {
		t.Fatal(err)
	}
	if h.queueLen(t, "bob@localhost") != 0 || h.queueLen(t, "carol@localhost") != 1 {
		t.Errorf("after Clear(bob): bob %d, carol %d; want 0, 1", h.queueLen(t, "bob@localhost"), h.queueLen(t, "carol@localhost"))
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	m := msg("bob@localhost", "m&1", "chat", "<b> & 'q' \"x\" é")
	m.Set("xml:lang", "fr")
	m.Append(stanza.New("urn:x", "ext", "a", "1").Append(stanza.New("urn:y", "deep").SetText("t")))
	got, err := decode(encode(m))
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != m.String() {
		t.Errorf("round trip:\n got %s\nwant %s", got, m)
	}
}

func TestUserLocksAreReleased(t *testing.T) {
	var l userLocks
	l.init()
	u1 := l.lock("a")
	u2 := l.lock("b")
	u1()
	u2()
	for i := range l.shards {
		if n := len(l.shards[i].m); n != 0 {
			t.Fatalf("shard %d keeps %d locks after release", i, n)
		}
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.rejected.WithLabelValues("quota")
	m.queueLength.Observe(1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 5 {
		t.Errorf("%d metric families, want 5", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "xmppd_offline_") {
			t.Errorf("metric %s is not named xmppd_offline_…", mf.GetName())
		}
	}
	for _, name := range []string{"xmppd_offline_stored_total", "xmppd_offline_delivered_total", "xmppd_offline_rejected_total"} {
		if _, err := testutil.GatherAndCount(reg, name); err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkStore measures one durable push of a chat message (pebble,
// fsync on), the cost a sender pays when the recipient is offline.
func BenchmarkStore(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), pebble.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, err := New(Options{Queues: db.Queues(), Domain: "localhost", Metrics: prometheus.NewRegistry(), Config: Config{MaxMessages: b.N + 1}})
	if err != nil {
		b.Fatal(err)
	}
	m := msg("bob@localhost", "m", "chat", strings.Repeat("hello ", 20))
	to := mustJID("bob@localhost")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := svc.store(ctx, to, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver100 measures reading, decoding, sending and
// acknowledging a queue of 100 messages at login.
func BenchmarkDeliver100(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), pebble.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, err := New(Options{Queues: db.Queues(), Domain: "localhost", Metrics: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	to := mustJID("bob@localhost")
	m := msg("bob@localhost", "m", "chat", strings.Repeat("hello ", 20))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < 100; j++ {
			if err := svc.store(ctx, to, m); err != nil {
				b.Fatal(err)
			}
		}
		r := newRes("bob@localhost/r", 0)
		b.StartTimer()
		if n, err := svc.deliver(ctx, "bob@localhost", r); err != nil || n != 100 {
			b.Fatalf("deliver = %d, %v", n, err)
		}
	}
}
