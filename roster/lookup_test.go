package roster

import (
	"context"
	"fmt"
	"testing"
)

func TestContactsSortedWithStateAndWithoutNotes(t *testing.T) {
	h := newHarness(t, xorSealer{})
	a := h.bind("alice@localhost/a")
	b := h.bind("bob@localhost/b")
	h.online(a)
	h.online(b)
	if _, err := h.iq(a, "set", fmt.Sprintf(q, "<item jid='zed@localhost' name='Z'><group>G</group><note>secret</note></item>")); err != nil {
		t.Fatal(err)
	}
	// alice and bob become mutual friends.
	h.pres(a, "subscribe", "bob@localhost")
	h.pres(b, "subscribed", "alice@localhost")
	h.pres(b, "subscribe", "alice@localhost")
	h.pres(a, "subscribed", "bob@localhost")
	// carol asks alice and is not answered: a contact that is not listed.
	c := h.bind("carol@localhost/c")
	h.pres(c, "subscribe", "alice@localhost")

	got, err := h.svc.Contacts(context.Background(), "alice@localhost")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		jid, sub string
		listed   bool
		pendIn   bool
	}{
		{jid: "bob@localhost", sub: "both", listed: true},
		{jid: "carol@localhost", sub: "none", pendIn: true},
		{jid: "zed@localhost", sub: "none", listed: true},
	}
	if len(got) != len(want) {
		t.Fatalf("Contacts = %+v, want %d items", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.JID != w.jid || g.State.Subscription() != w.sub || g.Listed != w.listed || g.State.PendingIn != w.pendIn {
			t.Errorf("item %d = %s sub=%s listed=%v pending_in=%v, want %+v", i, g.JID, g.State.Subscription(), g.Listed, g.State.PendingIn, w)
		}
		if g.Note != nil {
			t.Errorf("item %s carries a note: %q", g.JID, g.Note)
		}
	}
	if h.item("alice@localhost", "zed@localhost").Note == nil {
		t.Error("the note should still be stored")
	}

	none, err := h.svc.Contacts(context.Background(), "nobody@localhost")
	if err != nil || len(none) != 0 {
		t.Errorf("Contacts(nobody) = %v, %v; want none, nil", none, err)
	}
}

func TestOnChangeSeesEveryChangedRoster(t *testing.T) {
	h := newHarness(t, xorSealer{})
	var got []string
	h.svc.OnChange(func(user string) { got = append(got, user) })
	a := h.bind("alice@localhost/a")
	b := h.bind("bob@localhost/b")
	h.online(a)
	h.online(b)
	if _, err := h.iq(a, "set", fmt.Sprintf(q, "<item jid='zed@localhost'/>")); err != nil {
		t.Fatal(err)
	}
	h.pres(a, "subscribe", "bob@localhost")
	want := []string{"alice@localhost", "alice@localhost", "bob@localhost"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("OnChange saw %v, want %v", got, want)
	}
}
