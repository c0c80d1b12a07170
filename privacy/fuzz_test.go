package privacy

import (
	"testing"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// FuzzParseList feeds arbitrary <list/> and incremental queries through
// parsing and, when they parse, through storage and evaluation: no panic,
// parsed orders unique, and what is stored reads back as parsed.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"<list name='l'><item type='jid' value='bob@example.com/pc' action='deny' order='1'><message/><iq/></item><item action='allow' order='2'/></list>",
		"<list name='l'><item type='subscription' value='none' action='deny' order='4294967295'/></list>",
		"<list name='l'><item type='group' value='Enemies' action='deny' order='0'><presence-in/><presence-out/></item></list>",
		"<add name='l'><item type='jid' value='example.com' action='deny' order='7'/></add>",
		"<remove name='l'><item value='bob@example.com'/></remove>",
		"<list name='l'><item type='jid' value='a@b@c' action='deny' order='1'/></list>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		el, err := parseXML("<query xmlns='jabber:iq:privacy'>" + s + "</query>")
		if err != nil {
			return
		}
		for _, k := range el.Elements() {
			if k.Name.Local != "list" {
				_, _ = parseEdits([]*stanza.Element{k})
				continue
			}
			items, err := parseList(k)
			if err != nil {
				continue
			}
			seen := map[uint32]bool{}
			for _, it := range items {
				if seen[it.Order] {
					t.Fatalf("duplicate order %d accepted", it.Order)
				}
				seen[it.Order] = true
			}
			doc, w := crdt.New(), crdt.NewWriter("fuzz", crdt.NewHLC(nil))
			replaceList(doc, w, "l", items)
			back := readList(doc, "l")
			if len(back) != len(items) {
				t.Fatalf("stored %d items, read back %d", len(items), len(back))
			}
			for i := range items {
				if back[i] != items[i] {
					t.Fatalf("item %d stored as %+v, read back %+v", i, items[i], back[i])
				}
			}
			c := compile("l", items)
			c.decide(splitAddr("bob@example.com/pc"), KindMessage, func(string) Contact { return Contact{Subscription: "none"} })
		}
	})
}
