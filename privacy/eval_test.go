package privacy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// naiveDecide is XEP-0016 §2.1–2.2 read literally: every item in
// ascending order, the first that matches the address and applies to the
// kind decides; the compiled evaluator must agree with it.
func naiveDecide(items []Item, a addr, kind Kinds, c Contact) (deny, matched bool) {
	sorted := slices.Clone(items)
	sortItems(sorted)
	for _, it := range sorted {
		if !it.Kinds.applies(kind) || !naiveMatch(it, a, c) {
			continue
		}
		return it.Deny, true
	}
	return false, false
}

func naiveMatch(it Item, a addr, c Contact) bool {
	switch it.Type {
	case TypeAll:
		return true
	case TypeGroup:
		return slices.Contains(c.Groups, it.Value)
	case TypeSubscription:
		return c.Subscription == it.Value
	}
	v := splitAddr(it.Value)
	switch {
	case v.local != "" && v.resource != "":
		return v == a
	case v.local != "":
		return v.local == a.local && v.domain == a.domain
	case v.resource != "":
		return v.domain == a.domain && v.resource == a.resource
	}
	return a.domain == v.domain || strings.HasSuffix(a.domain, "."+v.domain)
}

var (
	locals    = []string{"", "bob", "eve"}
	domains   = []string{"example.com", "sub.example.com", "other.net"}
	resources = []string{"", "pc", "phone"}
	groups    = []string{"Friends", "Enemies"}
	subs      = []string{"none", "to", "from", "both"}
)

func genAddr(t *rapid.T, label string) addr {
	return addr{
		local:    rapid.SampledFrom(locals).Draw(t, label+"local"),
		domain:   rapid.SampledFrom(domains).Draw(t, label+"domain"),
		resource: rapid.SampledFrom(resources).Draw(t, label+"resource"),
	}
}

func (a addr) String() string {
	s := a.bare()
	if a.resource != "" {
		s += "/" + a.resource
	}
	return s
}

func genItems(t *rapid.T, label string, orders []uint32) []Item {
	var items []Item
	for i, o := range orders {
		it := Item{Order: o, Deny: rapid.Bool().Draw(t, fmt.Sprint(label, "deny", i)), Kinds: Kinds(rapid.IntRange(0, 15).Draw(t, fmt.Sprint(label, "kinds", i)))}
		switch rapid.IntRange(0, 5).Draw(t, fmt.Sprint(label, "type", i)) {
		case 0:
		case 1:
			it.Type, it.Value = TypeGroup, rapid.SampledFrom(groups).Draw(t, fmt.Sprint(label, "group", i))
		case 2:
			it.Type, it.Value = TypeSubscription, rapid.SampledFrom(subs).Draw(t, fmt.Sprint(label, "sub", i))
		default:
			it.Type, it.Value = TypeJID, genAddr(t, fmt.Sprint(label, "jid", i)).String()
		}
		items = append(items, it)
	}
	return items
}

func genContact(t *rapid.T) Contact {
	return Contact{
		Subscription: rapid.SampledFrom(subs).Draw(t, "subscription"),
		Groups:       rapid.SliceOfDistinct(rapid.SampledFrom(groups), func(s string) string { return s }).Draw(t, "groups"),
	}
}

func checkAgree(t *rapid.T, c *compiled, items []Item, contact Contact) {
	for range 8 {
		a := genAddr(t, "addr")
		kind := rapid.SampledFrom([]Kinds{0, KindMessage, KindIQ, KindPresenceIn, KindPresenceOut}).Draw(t, "kind")
		gotDeny, _, gotMatched := c.decide(a, kind, func(string) Contact { return contact })
		wantDeny, wantMatched := naiveDecide(items, a, kind, contact)
		if gotDeny != wantDeny || gotMatched != wantMatched {
			t.Fatalf("decide(%s, kind %d) = deny %v matched %v; naive evaluation says deny %v matched %v; items %+v",
				a, kind, gotDeny, gotMatched, wantDeny, wantMatched, items)
		}
	}
}

// TestCompiledAgreesWithNaive checks the map-based evaluator against the
// literal reading of the XEP's ordering rules, for compiled lists and for
// lists patched by incremental updates.
func TestCompiledAgreesWithNaive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		orders := rapid.SliceOfNDistinct(rapid.Uint32Range(0, 40), 0, 12, func(o uint32) uint32 { return o }).Draw(t, "orders")
		items := genItems(t, "a", orders)
		contact := genContact(t)
		c := compile("l", items)
		checkAgree(t, c, items, contact)

		// Patches, each on the last: drop some items, add new ones with
		// fresh orders. Enough rounds to fill the overlay and fold it.
		all, p := items, c
		rounds := rapid.IntRange(1, 12).Draw(t, "rounds")
		for r := range rounds {
			var del, kept []Item
			for i, it := range all {
				if rapid.Bool().Draw(t, fmt.Sprint("del", i)) {
					del = append(del, it)
				} else {
					kept = append(kept, it)
				}
			}
			lo := uint32(41 + 40*r)
			fresh := rapid.SliceOfNDistinct(rapid.Uint32Range(lo, lo+39), 0, 6, func(o uint32) uint32 { return o }).Draw(t, "fresh")
			add := genItems(t, fmt.Sprint("b", r), fresh)
			old, prev := p, p.items()
			p = p.patch(del, add)
			all = append(kept, add...)
			if p.n != len(all) {
				t.Fatalf("patched list has %d items, want %d", p.n, len(all))
			}
			checkAgree(t, p, all, contact)
			if got := len(p.items()); got != len(all) {
				t.Fatalf("patched list lists %d items, want %d", got, len(all))
			}
			if !slices.Equal(old.items(), prev) {
				t.Fatalf("patching changed the list it patched")
			}
		}
	})
}

func TestSplitAddr(t *testing.T) {
	tests := []struct {
		in   string
		want addr
	}{
		{in: "a@b/c", want: addr{local: "a", domain: "b", resource: "c"}},
		{in: "a@b", want: addr{local: "a", domain: "b"}},
		{in: "b/c", want: addr{domain: "b", resource: "c"}},
		{in: "b", want: addr{domain: "b"}},
		{in: "b/c@d", want: addr{domain: "b", resource: "c@d"}},
	}
	for _, tt := range tests {
		if got := splitAddr(tt.in); got != tt.want {
			t.Errorf("splitAddr(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
