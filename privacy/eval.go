package privacy

import (
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
type compiled struct {
	name        string
	jids        map[string][]Item // by value, each sorted by order
	others      []Item            // group, subscription, fall-through; by order
	needsRoster bool
	n           int
	lo, hi      uint32 // bounds of the orders (after removals, lo may be lower and hi higher)
}

// compile builds the evaluator of a list from its items (any order).
func compile(name string, items []Item) *compiled {
	c := &compiled{name: name, jids: make(map[string][]Item)}
	for _, it := range items {
		c.add(it)
	}
	for _, rs := range c.jids {
		sortItems(rs)
	}
	sortItems(c.others)
	return c
}

func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int { return cmpOrder(a.Order, b.Order) })
}

// add puts it in c without sorting (compile sorts).
func (c *compiled) add(it Item) {
	if c.n == 0 {
		c.lo, c.hi = it.Order, it.Order
	}
	c.lo, c.hi = min(c.lo, it.Order), max(c.hi, it.Order)
	c.n++
	if it.Type == TypeJID {
		c.jids[it.Value] = append(c.jids[it.Value], it)
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
	for _, rs := range c.jids {
		out = append(out, rs...)
	}
	out = append(out, c.others...)
	sortItems(out)
	return out
}

// patch returns a copy of c with the jid and other items in del removed
// and those in add added: an incremental update costs the copy of the map
// header chain, not a rebuild from storage.
func (c *compiled) patch(del []Item, add []Item) *compiled {
	n := &compiled{name: c.name, jids: make(map[string][]Item, len(c.jids)+len(add)), n: c.n, lo: c.lo, hi: c.hi}
	for k, v := range c.jids {
		n.jids[k] = v
	}
	n.others = slices.Clone(c.others)
	for _, d := range del {
		if d.Type == TypeJID {
			rs := n.jids[d.Value]
			i := slices.IndexFunc(rs, func(x Item) bool { return x == d })
			if i < 0 {
				continue
			}
			rs = slices.Delete(slices.Clone(rs), i, i+1)
			if len(rs) == 0 {
				delete(n.jids, d.Value)
			} else {
				n.jids[d.Value] = rs
			}
			n.n--
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
			n.jids[it.Value] = slices.Clone(n.jids[it.Value])
		}
		n.add(it)
	}
	for v := range touched {
		sortItems(n.jids[v])
	}
	sortItems(n.others)
	n.needsRoster = slices.ContainsFunc(n.others, func(it Item) bool { return it.Type != TypeAll })
	return n
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
		for _, it := range c.jids[key] {
			if found && it.Order >= best.Order {
				return
			}
			if it.Kinds.applies(kind) {
				best, found = it, true
				return
			}
		}
	}
	if len(c.jids) > 0 {
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
