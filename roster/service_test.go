package roster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

// fakeRes is a bound resource that records what it is sent.
type fakeRes struct {
	j    jid.JID
	last atomic.Pointer[stanza.Element]
	mu   sync.Mutex
	got  []*stanza.Element
}

func (f *fakeRes) JID() jid.JID                  { return f.j }
func (f *fakeRes) LastPresence() *stanza.Element { return f.last.Load() }
func (f *fakeRes) Available() (bool, int)        { return f.last.Load() != nil, 0 }
func (f *fakeRes) Send(st *stanza.Element) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, st)
	return nil
}

// take returns and forgets what f received.
func (f *fakeRes) take() []*stanza.Element {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.got
	f.got = nil
	return got
}

// fakeDir is a directory of fake resources.
type fakeDir struct {
	mu sync.Mutex
	m  map[string][]c2s.Resource
}

func (d *fakeDir) Resources(bare string) []c2s.Resource {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[bare]
}
func (d *fakeDir) Bind(r c2s.Resource) c2s.Resource {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := r.JID().Bare().String()
	d.m[b] = append(append([]c2s.Resource(nil), d.m[b]...), r)
	return nil
}
func (d *fakeDir) Unbind(r c2s.Resource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := r.JID().Bare().String()
	var keep []c2s.Resource
	for _, o := range d.m[b] {
		if o != r {
			keep = append(keep, o)
		}
	}
	d.m[b] = keep
}
func (d *fakeDir) Len() int { return 0 }

// countingDocs counts document reads.
type countingDocs struct {
	storage.Documents
	gets atomic.Int64
}

func (c *countingDocs) Get(ctx context.Context, k storage.Key) (storage.Document, error) {
	c.gets.Add(1)
	return c.Documents.Get(ctx, k)
}

// xorSealer stands in for the notes keyring: reversible, bound to owner
// and contact, and it refuses what it did not seal.
type xorSealer struct{}

func (xorSealer) Seal(owner, contact string, pt []byte) ([]byte, error) {
	out := append([]byte("sealed:"+owner+"|"+contact+":"), pt...)
	for i := len(out) - len(pt); i < len(out); i++ {
		out[i] ^= 0x5a
	}
	return out, nil
}

func (xorSealer) Open(owner, contact string, sealed []byte) ([]byte, error) {
	prefix := []byte("sealed:" + owner + "|" + contact + ":")
	if !bytes.HasPrefix(sealed, prefix) {
		return nil, errors.New("tampered")
	}
	pt := bytes.Clone(sealed[len(prefix):])
	for i := range pt {
		pt[i] ^= 0x5a
	}
	return pt, nil
}

type harness struct {
	t    testing.TB
	svc  *Service
	dir  *fakeDir
	docs *countingDocs
	reg  *prometheus.Registry
	e    env
	rt   []*stanza.Element // what went to the router
	mu   sync.Mutex
}

func newHarness(t testing.TB, sealer NoteSealer) *harness {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, dir: &fakeDir{m: map[string][]c2s.Resource{}}, docs: &countingDocs{Documents: db.Documents()},
		reg: prometheus.NewRegistry()}
	store := crdtstore.New(h.docs, Kind, crdt.NewWriter("test", crdt.NewHLC(nil)), crdt.CompactPolicy{})
	h.svc, err = New(Options{Store: store, Notes: sealer, Metrics: h.reg})
	if err != nil {
		t.Fatal(err)
	}
	h.e = env{dir: h.dir, domain: "localhost", route: func(_ context.Context, st *stanza.Element) {
		h.mu.Lock()
		h.rt = append(h.rt, st)
		h.mu.Unlock()
	}}
	return h
}

// bind adds a resource (not yet available).
func (h *harness) bind(full string) *fakeRes {
	r := &fakeRes{j: jid.MustParse(full)}
	h.dir.Bind(r)
	return r
}

// online makes r available the way the core would: presence hook, then
// the initial-presence hook.
func (h *harness) online(r *fakeRes) {
	p := stanza.New(stanza.NSClient, "presence", "from", r.j.String())
	was := r.last.Load() != nil
	r.last.Store(p)
	if _, err := h.svc.presence(context.Background(), h.e, r, p); err != nil {
		h.t.Fatal(err)
	}
	if !was {
		h.svc.available(context.Background(), h.e, r)
	}
}

func (h *harness) iq(r *fakeRes, typ, xml string) (*stanza.Element, error) {
	q := mustParse(h.t, xml)
	var after []func()
	res, err := h.svc.query(context.Background(), h.e, r, typ, q, func(f func()) { after = append(after, f) })
	for _, f := range after {
		f()
	}
	return res, err
}

func (h *harness) pres(r *fakeRes, typ, to string) {
	p := stanza.New(stanza.NSClient, "presence", "type", typ, "from", r.j.String(), "to", to)
	handled, err := h.svc.presence(context.Background(), h.e, r, p)
	if err != nil {
		h.t.Fatal(err)
	}
	if typ != "" && typ != "unavailable" && !handled {
		h.t.Fatalf("presence type %s not taken over", typ)
	}
}

func (h *harness) item(user, contact string) Item {
	doc, err := h.svc.store.Load(context.Background(), user)
	if err != nil {
		h.t.Fatal(err)
	}
	it, _ := readItem(doc, contact)
	return it
}

func mustParse(t testing.TB, s string) *stanza.Element {
	t.Helper()
	el, err := parseXML(s)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// describe renders stanzas compactly: kind/type from→to, pushes as
// push:jid:subscription.
func describe(sts []*stanza.Element) []string {
	var out []string
	for _, st := range sts {
		if q := st.Child(nsRoster, "query"); q != nil && st.Name.Local == "iq" {
			it := q.Child(nsRoster, "item")
			out = append(out, fmt.Sprintf("push:%s:%s%s", it.Get("jid"), it.Get("subscription"), map[bool]string{true: "+ask"}[it.Get("ask") != ""]))
			continue
		}
		typ := st.Get("type")
		if typ == "" {
			typ = "available"
		}
		out = append(out, fmt.Sprintf("%s:%s:%s", st.Name.Local, typ, st.Get("from")))
	}
	return out
}

func TestMetricNames(t *testing.T) {
	h := newHarness(t, nil)
	h.svc.m.loads.WithLabelValues("get").Inc()
	h.svc.m.gets.WithLabelValues("full").Inc()
	h.svc.m.transitions.WithLabelValues("out", "subscribe").Inc()
	h.svc.m.presence.WithLabelValues("broadcast").Inc()
	if err := metrics.Lint(h.reg, "roster"); err != nil {
		t.Error(err)
	}
}

type (
	crdtDoc    = crdt.Doc
	crdtWriter = crdt.Writer
)

func stanzaUnavailable(from string) *stanza.Element {
	return stanza.New(stanza.NSClient, "presence", "type", "unavailable", "from", from)
}
