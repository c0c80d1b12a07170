package vcard

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/metrics"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage/pebble"
)

func newService(t *testing.T, cfg Config) *Service {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(Options{KV: db.KV(), Metrics: prometheus.NewRegistry(), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustParse(t *testing.T, s string) *stanza.Element {
	t.Helper()
	el, err := stanza.Parse([]byte(s), 64)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func TestPhotoHash(t *testing.T) {
	img := []byte("\x89PNG fake image bytes")
	sum := sha1.Sum(img)
	want := hex.EncodeToString(sum[:])
	b64 := base64.StdEncoding.EncodeToString(img)
	tests := []struct {
		name, vcard, want string
		err               bool
	}{
		{name: "no photo", vcard: `<vCard xmlns='vcard-temp'><FN>A</FN></vCard>`},
		{name: "empty binval", vcard: `<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL/></PHOTO></vCard>`},
		{name: "photo", vcard: `<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>` + b64 + `</BINVAL></PHOTO></vCard>`, want: want},
		{name: "folded base64", vcard: `<vCard xmlns='vcard-temp'><PHOTO><BINVAL>` + b64[:8] + "\n  " + b64[8:] + `</BINVAL></PHOTO></vCard>`, want: want},
		{name: "not base64", vcard: `<vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!!</BINVAL></PHOTO></vCard>`, err: true},
	}
	for _, tt := range tests {
		got, err := PhotoHash(mustParse(t, tt.vcard))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%s: PhotoHash = %q, %v; want %q (error %v)", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestStoreLoadAndContactReads(t *testing.T) {
	s := newService(t, Config{MaxBytes: 200})
	ctx := context.Background()
	v := mustParse(t, `<vCard xmlns='vcard-temp'><FN>Alice</FN><NICKNAME>al</NICKNAME></vCard>`)
	if _, err := s.store(ctx, "alice@x", v); err != nil {
		t.Fatal(err)
	}
	got, err := s.load(ctx, "alice@x")
	if err != nil || got.String() != v.String() {
		t.Fatalf("load = %v, %v; want %s", got, err, v)
	}
	if ph, err := s.loadHash(ctx, "alice@x"); err != nil || !ph.known || ph.hash != "" {
		t.Errorf("hash after a vCard without photo = %+v, %v; want known and empty", ph, err)
	}
	if ph, _ := s.loadHash(ctx, "bob@x"); ph.known {
		t.Errorf("a user without vCard has a known hash")
	}
	big := mustParse(t, `<vCard xmlns='vcard-temp'><DESC>`+strings.Repeat("x", 300)+`</DESC></vCard>`)
	if _, err := s.store(ctx, "alice@x", big); c2s.AsStanzaError(err).Condition != c2s.CondNotAcceptable {
		t.Errorf("oversized vCard: %v, want not-acceptable", err)
	}
	contact := func(typ, to, payload string) (*stanza.Element, string) {
		res, err := s.handleContact(ctx, &c2s.IQ{From: jid.MustParse("bob@x/b"), To: jid.MustParse(to), Type: typ, Payload: mustParse(t, payload)})
		if err != nil {
			return nil, string(c2s.AsStanzaError(err).Condition)
		}
		return res, ""
	}
	if res, cond := contact("get", "alice@x", `<vCard xmlns='vcard-temp'/>`); cond != "" || res.ChildText(NS, "FN") != "Alice" {
		t.Errorf("bob reads alice's vCard: %v %s", res, cond)
	}
	for _, tt := range []struct{ name, typ, to, payload, cond string }{
		{name: "missing vCard", typ: "get", to: "carol@x", payload: `<vCard xmlns='vcard-temp'/>`, cond: "item-not-found"},
		{name: "setting another's", typ: "set", to: "alice@x", payload: `<vCard xmlns='vcard-temp'><FN>Evil</FN></vCard>`, cond: "forbidden"},
		{name: "wrong element", typ: "get", to: "alice@x", payload: `<card xmlns='vcard-temp'/>`, cond: "bad-request"},
	} {
		if _, cond := contact(tt.typ, tt.to, tt.payload); cond != tt.cond {
			t.Errorf("%s: condition %q, want %q", tt.name, cond, tt.cond)
		}
	}
	if res, _ := contact("get", "alice@x", `<vCard xmlns='vcard-temp'/>`); res.ChildText(NS, "FN") != "Alice" {
		t.Errorf("a refused set changed the vCard: %s", res)
	}
}

func TestUpdateElement(t *testing.T) {
	if got := updateElement("abc").String(); got != `<x xmlns='vcard-temp:x:update'><photo>abc</photo></x>` {
		t.Errorf("updateElement(abc) = %s", got)
	}
	if got := updateElement("").String(); got != `<x xmlns='vcard-temp:x:update'><photo/></x>` {
		t.Errorf("updateElement('') = %s", got)
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := metrics.Lint(reg, "vcard"); err != nil {
		t.Error(err)
	}
}
