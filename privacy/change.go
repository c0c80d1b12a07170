package privacy

import (
	"context"
	"slices"

	"github.com/xmppd/xmppd/stanza"
)

// A change is a committed change of one list: the items it removed or
// replaced (del) and added (add), or its whole new form (next).
type change struct {
	list       string
	del, add   []Item
	next       *compiled
	unblockAll bool // an XEP-0191 unblock of everything: its push carries no items
}

// changedLocked makes a committed change of list take effect: ch.next is the
// list's new compiled form (nil to patch the one in use with del and add),
// installed for every session whose active list it is and as the default
// if it is the default, so routing obeys it at once (XEP-0016 rule 8). For
// the default list, contacts newly blocked (XEP-0191 items) are first sent
// the user's unavailable presence and unblocked ones its current presence
// afterwards. It returns the pushes to send once the answer is queued:
// the list push to every resource (rule 10) and, for the default list, the
// block and unblock pushes to the resources that asked for the blocklist.
// u.mu is held.
func (s *Service) changedLocked(ctx context.Context, e env, u *userState, ch change) []func() {
	list, del, add, next := ch.list, ch.del, ch.add, ch.next
	cur := inUse(u, list)
	if cur != nil && next == nil {
		next = cur.patch(del, add)
	}
	isDefault := u.defName == list
	var blocked, unblocked []string
	if isDefault {
		blocked, unblocked = blockDiff(del, add)
	}
	if len(blocked) > 0 {
		s.presenceTo(ctx, e, u, blocked, true)
	}
	if cur != nil {
		if isDefault {
			u.def.Store(next)
		}
		for o := range u.sessions {
			if a := o.active.Load(); a != nil && a.name == list {
				o.active.Store(next)
			}
		}
	}
	if len(unblocked) > 0 {
		s.presenceTo(ctx, e, u, unblocked, false)
	}
	sessions := u.sessionList()
	return []func(){func() {
		for _, o := range sessions {
			push := stanza.New(stanza.NSClient, "iq", "type", "set", "id", s.pushID(), "to", o.res.JID().String()).
				Append(stanza.New(nsPrivacy, "query").Append(stanza.New(nsPrivacy, "list", "name", list)))
			if o.res.Send(push) == nil {
				s.m.pushes.WithLabelValues("list").Inc()
			}
			if !o.blocklist.Load() {
				continue
			}
			for _, b := range []struct {
				op   string
				jids []string
			}{{"block", blocked}, {"unblock", unblocked}} {
				if len(b.jids) == 0 {
					continue
				}
				el := stanza.New(nsBlocking, b.op)
				if !(b.op == "unblock" && ch.unblockAll) {
					for _, j := range b.jids {
						el.Append(stanza.New(nsBlocking, "item", "jid", j))
					}
				}
				push := stanza.New(stanza.NSClient, "iq", "type", "set", "id", s.pushID(), "to", o.res.JID().String()).Append(el)
				if o.res.Send(push) == nil {
					s.m.pushes.WithLabelValues(b.op).Inc()
				}
			}
		}
	}}
}

// blockDiff returns the JIDs blocked in add and not in del (newly
// blocked) and those blocked in del and not in add (unblocked).
func blockDiff(del, add []Item) (blocked, unblocked []string) {
	before := map[string]bool{}
	for _, it := range del {
		if it.blocks() {
			before[it.Value] = true
		}
	}
	after := map[string]bool{}
	for _, it := range add {
		if it.blocks() {
			after[it.Value] = true
			if !before[it.Value] {
				blocked = append(blocked, it.Value)
			}
		}
	}
	for v := range before {
		if !after[v] {
			unblocked = append(unblocked, v)
		}
	}
	slices.Sort(unblocked)
	return blocked, unblocked
}

// presenceTo sends each contact in jids that may see the user's presence
// (a subscription from or both, XEP-0191 §3.3) the presence of each of
// the user's available resources: unavailable when blocking, the current
// presence when unblocking.
func (s *Service) presenceTo(ctx context.Context, e env, u *userState, jids []string, unavailable bool) {
	view := s.rosterOf(u)
	for _, j := range jids {
		if c := view(j); c.Subscription != "from" && c.Subscription != "both" {
			continue
		}
		for o := range u.sessions {
			var p *stanza.Element
			if unavailable {
				if avail, _ := o.res.Available(); !avail {
					continue
				}
				p = stanza.New(stanza.NSClient, "presence", "type", "unavailable")
			} else {
				last := o.res.LastPresence()
				if last == nil {
					continue
				}
				p = last.ShallowCopy()
			}
			p.Set("from", o.res.JID().String())
			p.Set("to", j)
			e.route(ctx, p)
		}
	}
}
