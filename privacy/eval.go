package privacy

import (
	"maps"
	"slices"
	"strings"
)

// A Contact is what a privacy list reads of the owner's roster about the
// other party: its subscription state (none for someone not on the
// roster) and its groups.
type Contact struct {
	Subscription string
	Groups       []string
}

// A rosterView is one user's roster as privacy rules see it, by bare JID.
type rosterView map[string]Contact

func (v rosterView) contact(bare string) Contact {
	if c, ok := v[bare]; ok {
		return c
	}
	return Contact{Subscription: "none"}
}

// A compiled list is a privacy list ready to evaluate on the routing
// path: jid items in a map keyed by their value, so that a list of 10,000
// blocked JIDs costs a handful of map lookups per stanza; group,
// subscription and fall-through items in order beside it. It is immutable
// once built and shared by every session it applies to.
//
// The jid map is two layers, so that an incremental update does not copy
// 10,000 entries: base, shared by every version patched from one compile,
// and over, the values patched since, which hide base's (an empty slice:
// no items left). patch copies only over, and folds it into a new base
// once it holds more than about the square root of base's size, so an
// update costs O(√n) plus an amortised O(√n) fold, and a lookup one more
// probe of a small map.
type compiled struct {
	name        string
	base, over  map[string][]Item // by value, each sorted by order; over may be nil
	nj          int               // jid items
	others      []Item            // group, subscription, fall-through; by order
	needsRoster bool
	n           int
	lo, hi      uint32 // bounds of the orders (after removals, lo may be lower and hi higher)
}

// compile builds the evaluator of a list from its items (any order).
func compile(name string, items []Item) *compiled {
	c := &compiled{name: name, base: make(map[string][]Item)}
	for _, it := range items {
		c.add(it)
	}
	for _, rs := range c.base {
		sortItems(rs)
	}
	sortItems(c.others)
	return c
}

func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int { return cmpOrder(a.Order, b.Order) })
}

// jidItems returns the jid items of value v, sorted by order.
func (c *compiled) jidItems(v string) []Item {
	if rs, ok := c.over[v]; ok {
		return rs
	}
	return c.base[v]
}

// eachJID calls f with every value that has jid items, in no order.
func (c *compiled) eachJID(f func(v string, rs []Item)) {
	for v, rs := range c.over {
		if len(rs) > 0 {
			f(v, rs)
		}
	}
	for v, rs := range c.base {
		if _, hidden := c.over[v]; !hidden {
			f(v, rs)
		}
	}
}

// add puts it in c without sorting (compile and patch sort), in over
// when c has one.
func (c *compiled) add(it Item) {
	if c.n == 0 {
		c.lo, c.hi = it.Order, it.Order
	}
	c.lo, c.hi = min(c.lo, it.Order), max(c.hi, it.Order)
	c.n++
	if it.Type == TypeJID {
		c.nj++
		if c.over != nil {
			c.over[it.Value] = append(c.over[it.Value], it)
		} else {
			c.base[it.Value] = append(c.base[it.Value], it)
		}
		return
	}
	c.others = append(c.others, it)
	if it.Type != TypeAll {
		c.needsRoster = true
	}
}

// items returns every item of c sorted by order.
func (c *compiled) items() []Item {
	out := make([]Item, 0, c.n)
	c.eachJID(func(_ string, rs []Item) { out = append(out, rs...) })
	out = append(out, c.others...)
	sortItems(out)
	return out
}

// patch returns a copy of c with the jid and other items in del removed
// and those in add added: an incremental update copies the values it
// touches and the overlay (see compiled), not the whole list.
func (c *compiled) patch(del []Item, add []Item) *compiled {
	n := &compiled{name: c.name, base: c.base, over: make(map[string][]Item, len(c.over)+len(add)), nj: c.nj, n: c.n, lo: c.lo, hi: c.hi}
	maps.Copy(n.over, c.over)
	n.others = slices.Clone(c.others)
	for _, d := range del {
		if d.Type == TypeJID {
			rs := n.jidItems(d.Value)
			i := slices.IndexFunc(rs, func(x Item) bool { return x == d })
			if i < 0 {
				continue
			}
			n.over[d.Value] = slices.Delete(slices.Clone(rs), i, i+1)
			n.n--
			n.nj--
			continue
		}
		if i := slices.Index(n.others, d); i >= 0 {
			n.others = slices.Delete(n.others, i, i+1)
			n.n--
		}
	}
	touched := map[string]bool{}
	for _, it := range add {
		if it.Type == TypeJID && !touched[it.Value] {
			touched[it.Value] = true
			n.over[it.Value] = slices.Clone(n.jidItems(it.Value))
		}
		n.add(it)
	}
	for v := range touched {
		sortItems(n.over[v])
	}
	sortItems(n.others)
	n.needsRoster = slices.ContainsFunc(n.others, func(it Item) bool { return it.Type != TypeAll })
	if len(n.over)*len(n.over) > len(n.base)+64 {
		n.fold()
	}
	return n
}

// fold merges over into a new base (c is not shared yet).
func (c *compiled) fold() {
	base := make(map[string][]Item, len(c.base)+len(c.over))
	c.eachJID(func(v string, rs []Item) { base[v] = rs })
	c.base, c.over = base, nil
}

// An addr is the other party of a stanza, split from its normalised JID.
type addr struct{ local, domain, resource string }

// splitAddr splits a normalised JID string (as the server stamps 'from'
// and 'to') without parsing it again.
func splitAddr(s string) addr {
	var a addr
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, a.resource = s[:i], s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		a.local, s = s[:i], s[i+1:]
	}
	a.domain = s
	return a
}

func (a addr) bare() string {
	if a.local == "" {
		return a.domain
	}
	return a.local + "@" + a.domain
}

// decide evaluates c for a stanza of kind exchanged with a (XEP-0016
// §2.2): the item with the lowest order that matches a and applies to
// kind decides; with none, the stanza is allowed. roster is consulted
// only when c has group or subscription items. It returns whether the
// stanza is denied and the deciding item.
func (c *compiled) decide(a addr, kind Kinds, roster func(bare string) Contact) (deny bool, by Item, matched bool) {
	// The jid items, in the four forms of §2.1; a domain item also
	// matches the subdomains of its domain.
	best, found := Item{}, false
	consider := func(key string) {
		for _, it := range c.jidItems(key) {
			if found && it.Order >= best.Order {
				return
			}
			if it.Kinds.applies(kind) {
				best, found = it, true
				return
			}
		}
	}
	if c.nj > 0 {
		bare := a.bare()
		if a.resource != "" {
			consider(bare + "/" + a.resource)
		}
		if a.local != "" {
			consider(bare)
			if a.resource != "" {
				consider(a.domain + "/" + a.resource)
			}
		}
		for d := a.domain; d != ""; {
			consider(d)
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
		}
	}
	var contact *Contact
	for _, it := range c.others {
		if found && it.Order >= best.Order {
			break
		}
		if !it.Kinds.applies(kind) {
			continue
		}
		switch it.Type {
		case TypeAll:
		case TypeSubscription, TypeGroup:
			if contact == nil {
				ct := roster(a.bare())
				contact = &ct
			}
			if it.Type == TypeSubscription && contact.Subscription != it.Value ||
				it.Type == TypeGroup && !slices.Contains(contact.Groups, it.Value) {
				continue
			}
		}
		best, found = it, true
		break
	}
	if !found {
		return false, Item{}, false
	}
	return best.Deny, best, true
}
