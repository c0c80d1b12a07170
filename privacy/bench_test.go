package privacy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

func ignoreItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{Type: TypeJID, Value: fmt.Sprintf("user%06d@example.net", i), Deny: true, Order: uint32(i)}
	}
	return items
}

// BenchmarkDecide evaluates an ignore list for a stanza from someone on it
// (hit) and from someone not on it (miss, the common case): the routing
// path's cost of a list, at 10 and 10,000 entries.
func BenchmarkDecide(b *testing.B) {
	noRoster := func(string) Contact { return Contact{Subscription: "none"} }
	for _, n := range []int{10, 10_000} {
		c := compile("ignore", append(ignoreItems(n), Item{Deny: false, Order: uint32(n)}))
		for _, tc := range []struct{ name, from string }{
			{"hit", "user000007@example.net/game"},
			{"miss", "friend@example.net/game"},
		} {
			b.Run(fmt.Sprintf("items=%d/%s", n, tc.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.decide(splitAddr(tc.from), KindMessage, noRoster)
				}
			})
		}
	}
}

// BenchmarkIncrementalApply is the document side of one <add/> of one
// item to an ignore list: the CRDT operations, without storage.
func BenchmarkIncrementalApply(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			doc, w := crdt.New(), crdt.NewWriter("bench", crdt.NewHLC(nil))
			replaceList(doc, w, "ignore", ignoreItems(n))
			doc.CompactBefore(doc.MaxTimestamp())
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// Add an item, then remove it: every iteration changes the list.
				k := (i / 2) % 64
				it := Item{Type: TypeJID, Value: fmt.Sprintf("new%d@example.net", k), Deny: true, Order: uint32(n + 1 + k)}
				ed := edit{list: "ignore", add: []Item{it}}
				if i%2 == 1 {
					ed = edit{list: "ignore", remove: true, removes: []removal{{Type: TypeJID, Value: it.Value}}}
				}
				if _, _, err := applyEdits(doc, w, []edit{ed}); err != nil {
					b.Fatal(err)
				}
				if doc.LogLen() > 256 {
					doc.CompactBefore(doc.MaxTimestamp())
				}
			}
		})
	}
}

// BenchmarkIncrementalUpdate is one incremental IQ end to end on an
// active ignore list: parse, one crdtstore.Append on the embedded store
// (pebble) — the operations on the cached document, a delta sibling
// written, and every DefaultFoldSiblings-th time a fold of the siblings
// (a read-merge-write of the whole document) —, patch of the compiled
// list, pushes. Every iteration changes the list (adds an item, or
// removes the one added before). ns/op is the mean, folds included;
// p50-ns and p99-ns are percentiles of single IQs (folds are 1 in 32, so
// p99 shows them). The document is compacted (no age limit here).
func BenchmarkIncrementalUpdate(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			h := newHarnessPolicy(b, crdt.CompactPolicy{MinAge: -1})
			r := h.bind("alice@localhost/1")
			list := stanza.New(nsPrivacy, "list", "name", "ignore")
			for _, it := range ignoreItems(n) {
				list.Append(it.element())
			}
			q := stanza.New(nsPrivacy, "query").Append(list)
			if _, _, err := h.svc.privacyQuery(context.Background(), h.env(), r, "set", q); err != nil {
				b.Fatal(err)
			}
			h.must(r, "set", "<active name='ignore'/>")
			b.ReportAllocs()
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				k := (i / 2) % 64
				v := fmt.Sprintf("new%d@example.net", k)
				body := fmt.Sprintf("<add name='ignore'><item type='jid' value='%s' action='deny' order='%d'/></add>", v, n+1+k)
				if i%2 == 1 {
					body = fmt.Sprintf("<remove name='ignore'><item type='jid' value='%s'/></remove>", v)
				}
				start := time.Now()
				h.must(r, "set", body)
				took = append(took, time.Since(start))
				r.take()
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
