package muc

import (
	"context"
	"encoding/xml"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// fakeRes is a c2s.Resource that records what it is sent.
type fakeRes struct {
	j   jid.JID
	mu  sync.Mutex
	got []*stanza.Element
}

func (f *fakeRes) JID() jid.JID                  { return f.j }
func (f *fakeRes) Available() (bool, int)        { return true, 0 }
func (f *fakeRes) LastPresence() *stanza.Element { return nil }
func (f *fakeRes) Send(st *stanza.Element) error {
	f.mu.Lock()
	f.got = append(f.got, st)
	f.mu.Unlock()
	return nil
}

// take returns and forgets what was received.
func (f *fakeRes) take() []*stanza.Element {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.got
	f.got = nil
	return g
}

// harness drives a Service the way handleDomain does, with fake resources.
type harness struct {
	t       *testing.T
	svc     *Service
	clients map[string]*tclient
	routed  []*stanza.Element
	now     time.Time
}

type tclient struct {
	res *fakeRes
	mem *memberships
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, clients: map[string]*tclient{}, now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	svc, err := New(Options{ServerDomain: "example.org", Metrics: prometheus.NewRegistry(), Config: cfg,
		Now: func() time.Time { return h.now }, Store: newMemKV()})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	return h
}

func (h *harness) client(full string) *tclient {
	if c := h.clients[full]; c != nil {
		return c
	}
	c := &tclient{res: &fakeRes{j: jid.MustParse(full)}, mem: &memberships{}}
	h.clients[full] = c
	return c
}

// send handles xml from full and returns the error reply, if any.
func (h *harness) send(full, xml string) error {
	h.t.Helper()
	st := parse(h.t, xml)
	st.Set("from", full)
	tc := h.client(full)
	c := &client{jid: tc.res.j, res: tc.res, mem: tc.mem,
		route: func(_ context.Context, st *stanza.Element) { h.routed = append(h.routed, st) }}
	return h.svc.handle(context.Background(), c, st)
}

func (h *harness) mustSend(full, xml string) {
	h.t.Helper()
	if err := h.send(full, xml); err != nil {
		h.t.Fatalf("%s sent %s: %v", full, xml, err)
	}
}

// got returns what full received since the last call, as strings.
func (h *harness) got(full string) []string {
	var out []string
	for _, st := range h.client(full).res.take() {
		out = append(out, st.String())
	}
	return out
}

func parse(t *testing.T, s string) *stanza.Element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	tok, err := d.Token()
	if err != nil {
		t.Fatal(err)
	}
	el, err := stanza.Read(d, tok.(xml.StartElement), 32)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return el
}

func condition(err error) string {
	if err == nil {
		return ""
	}
	return string(c2s.AsStanzaError(err).Condition)
}

func has(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, strings.ReplaceAll(p, `"`, "'")) {
			return false
		}
	}
	return true
}

// memKV is an in-memory storage.KV.
type memKV struct {
	mu sync.Mutex
	m  map[storage.Key][]byte
}

func newMemKV() *memKV { return &memKV{m: map[storage.Key][]byte{}} }

func (k *memKV) Get(_ context.Context, key storage.Key) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return v, nil
}

func (k *memKV) Put(_ context.Context, key storage.Key, v []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = v
	return nil
}

func (k *memKV) Create(ctx context.Context, key storage.Key, v []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; ok {
		return storage.ErrExists
	}
	k.m[key] = v
	return nil
}

func (k *memKV) Delete(_ context.Context, key storage.Key) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; !ok {
		return storage.ErrNotFound
	}
	delete(k.m, key)
	return nil
}

func (k *memKV) List(_ context.Context, kind string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for key := range k.m {
		if key.Kind == kind {
			out = append(out, key.User)
		}
	}
	sort.Strings(out)
	return out, nil
}

var _ storage.KV = (*memKV)(nil)
