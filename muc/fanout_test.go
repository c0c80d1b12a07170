package muc

import (
	"encoding/xml"
	"strconv"
	"testing"

	"github.com/xmppd/xmppd/stanza"
)

// TestGroupchatCopies checks the fan-out's copies: every occupant gets
// exactly one copy, addressed to its own full JID, with the sender's
// attributes in order and 'to' last, sharing the payload; and a copy
// changed by a recipient changes no other.
func TestGroupchatCopies(t *testing.T) {
	for _, n := range []int{1, 2, 7, 19} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			h := newHarness(t, Config{})
			openRoom(t, h)
			users := []string{alice}
			for i := 1; i < n; i++ {
				u := "user" + strconv.Itoa(i) + "@example.org/r"
				h.mustSend(u, join("N"+strconv.Itoa(i)))
				users = append(users, u)
			}
			for _, u := range users {
				h.client(u).res.take()
			}
			h.mustSend(alice, "<message xmlns='jabber:client' type='groupchat' id='g1' to='"+room+"'><body>hi</body></message>")
			var first *stanza.Element
			for _, u := range users {
				got := h.client(u).res.take()
				if len(got) != 1 {
					t.Fatalf("%s got %d stanzas, want 1", u, len(got))
				}
				m := got[0]
				want := []xml.Attr{
					{Name: xml.Name{Local: "type"}, Value: "groupchat"},
					{Name: xml.Name{Local: "id"}, Value: "g1"},
					{Name: xml.Name{Local: "from"}, Value: room + "/Alice"},
					{Name: xml.Name{Local: "to"}, Value: u},
				}
				if len(m.Attr) != len(want) {
					t.Fatalf("%s: attributes %v, want %v", u, m.Attr, want)
				}
				for i := range want {
					if m.Attr[i] != want[i] {
						t.Errorf("%s: attribute %d is %v, want %v", u, i, m.Attr[i], want[i])
					}
				}
				if m.ChildText(stanza.NSClient, "body") != "hi" {
					t.Errorf("%s: body %q, want hi", u, m.ChildText(stanza.NSClient, "body"))
				}
				if first == nil {
					first = m
					// A recipient changing its copy must not reach
					// the others'.
					m.Set("extra", "x")
					m.Set("to", "changed@example.org")
				}
			}
			if first.Get("to") != "changed@example.org" {
				t.Errorf("first copy's to = %q after Set", first.Get("to"))
			}
		})
	}
}
