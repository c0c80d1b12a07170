package carbons

import (
	"context"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

func msg(typ string, children ...*stanza.Element) *stanza.Element {
	m := stanza.New(stanza.NSClient, "message", "from", "juliet@example/balcony", "to", "romeo@example/garden")
	if typ != "" {
		m.Set("type", typ)
	}
	return m.Append(children...)
}

func body() *stanza.Element { return stanza.New(stanza.NSClient, "body").SetText("hi") }

func TestEligible(t *testing.T) {
	tests := []struct {
		name string
		msg  *stanza.Element
		want bool
	}{
		{name: "chat", msg: msg("chat", body()), want: true},
		{name: "chat state only", msg: msg("chat", stanza.New("http://jabber.org/protocol/chatstates", "composing")), want: true},
		{name: "normal with body", msg: msg("normal", body()), want: true},
		{name: "no type with body", msg: msg("", body()), want: true},
		{name: "normal without body", msg: msg("normal", stanza.New("urn:xmpp:receipts", "received")), want: false},
		{name: "groupchat", msg: msg("groupchat", body()), want: false},
		{name: "headline", msg: msg("headline", body()), want: false},
		{name: "error", msg: msg("error", body()), want: false},
		{name: "private", msg: msg("chat", body(), stanza.New(NS, "private")), want: false},
		{name: "no-copy hint", msg: msg("chat", body(), stanza.New(nsHints, "no-copy")), want: false},
		{name: "other hint", msg: msg("chat", body(), stanza.New(nsHints, "no-store")), want: true},
		{name: "MUC private message", msg: msg("chat", body(), stanza.New(nsMUCUser, "x")), want: false},
		{name: "a copy itself", msg: msg("chat", stanza.New(NS, "received")), want: false},
	}
	for _, tc := range tests {
		if got := Eligible(tc.msg); got != tc.want {
			t.Errorf("%s: Eligible(%s) = %v, want %v", tc.name, tc.msg, got, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	to := jid.MustParse("romeo@example/home")
	got := Wrap("received", msg("chat", body()), to).String()
	want := `<message xmlns="jabber:client" from="romeo@example" to="romeo@example/home" type="chat">` +
		`<received xmlns="urn:xmpp:carbons:2"><forwarded xmlns="urn:xmpp:forward:0">` +
		`<message xmlns="jabber:client" from="juliet@example/balcony" to="romeo@example/garden" type="chat"><body>hi</body></message>` +
		`</forwarded></received></message>`
	norm := func(s string) string { return strings.ReplaceAll(s, "'", `"`) }
	if norm(got) != norm(want) {
		t.Errorf("Wrap:\n got %s\nwant %s", got, want)
	}
	if w := Wrap("sent", msg("", body()), to); w.Has("type") {
		t.Errorf("copy of a message without type has one: %s", w)
	}
}

func TestStripPrivate(t *testing.T) {
	s := New()
	ctx := context.Background()
	to := jid.MustParse("romeo@example")

	priv := msg("chat", body(), stanza.New(NS, "private"), stanza.New(nsHints, "no-store"))
	s.stripPrivate(ctx, to, priv)
	if priv.Child(NS, "private") != nil {
		t.Errorf("delivered message still has <private/>: %s", priv)
	}
	if priv.Child(stanza.NSClient, "body") == nil || priv.Child(nsHints, "no-store") == nil {
		t.Errorf("other children were removed: %s", priv)
	}
	if !s.wasPrivate(priv) {
		t.Error("a message whose <private/> was removed is not remembered as private")
	}
	if s.wasPrivate(priv) {
		t.Error("a private message is remembered after it was looked up")
	}

	plain := msg("chat", body())
	s.stripPrivate(ctx, to, plain)
	if len(plain.Elements()) != 1 || s.wasPrivate(plain) {
		t.Errorf("plain message changed or marked private: %s", plain)
	}
}
