package privacy

import (
	"context"
	"slices"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// The blocking command (XEP-0191) is a view of the default privacy list,
// as XEP-0191 §3 recommends and ejabberd does: the blocklist is the
// default list's jid items that deny everything; block adds such items
// (creating the list "Blocked contacts" and making it the default when
// there is none), unblock removes them. So both protocols see one truth,
// and routing needs no second evaluator.

// handleBlockingIQ serves urn:xmpp:blocking from the account's own
// resources.
func (s *Service) handleBlockingIQ(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	res, after, err := s.blocking(ctx, envFor(iq.Session), iq.Session, iq.Type, iq.Payload)
	for _, f := range after {
		iq.AfterReply(f)
	}
	return res, err
}

func (s *Service) blocking(ctx context.Context, e env, self c2s.Resource, typ string, el *stanza.Element) (*stanza.Element, []func(), error) {
	st := s.stateOf(self)
	if st == nil {
		s.bind(ctx, self)
		st = s.stateOf(self)
	}
	switch {
	case typ == "get" && el.Name.Local == "blocklist":
		return s.blocklist(ctx, st)
	case typ == "set" && el.Name.Local == "block":
		jids, err := parseBlockItems(el)
		if err != nil {
			return nil, nil, err
		}
		if len(jids) == 0 {
			return nil, nil, c2s.BadRequest("<block/> needs at least one <item/>")
		}
		after, err := s.block(ctx, e, st, jids)
		return nil, after, err
	case typ == "set" && el.Name.Local == "unblock":
		jids, err := parseBlockItems(el)
		if err != nil {
			return nil, nil, err
		}
		after, err := s.unblock(ctx, e, st, jids)
		return nil, after, err
	}
	return nil, nil, c2s.BadRequest("unknown blocking command")
}

// parseBlockItems reads the JIDs of <block/> or <unblock/>, normalised.
func parseBlockItems(el *stanza.Element) ([]string, error) {
	var out []string
	for _, it := range el.Elements() {
		if it.Name.Space != nsBlocking || it.Name.Local != "item" {
			return nil, c2s.BadRequest("blocking commands hold <item/> elements")
		}
		j, err := jid.Parse(it.Get("jid"))
		if err != nil || it.Get("jid") == "" {
			return nil, c2s.JIDMalformed("an item's 'jid' must be a JID")
		}
		if v := j.String(); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// blocklist answers the blocked JIDs and marks the session for pushes.
func (s *Service) blocklist(ctx context.Context, st *sessState) (*stanza.Element, []func(), error) {
	u := st.user
	u.mu.Lock()
	err := s.loadLocked(ctx, u, "request")
	u.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	st.blocklist.Store(true)
	out := stanza.New(nsBlocking, "blocklist")
	if d := u.def.Load(); d != nil {
		for _, v := range d.blocked() {
			out.Append(stanza.New(nsBlocking, "item", "jid", v))
		}
	}
	return out, nil, nil
}

// blocked returns the JIDs c blocks (XEP-0191 view), sorted.
func (c *compiled) blocked() []string {
	var out []string
	c.eachJID(func(v string, rs []Item) {
		if slices.ContainsFunc(rs, Item.blocks) {
			out = append(out, v)
		}
	})
	slices.Sort(out)
	return out
}

// blockOrder picks an order for a new blocked item of list c: below every
// item when there is room, so that blocks come first (XEP-0191 §3);
// otherwise after the last. free reports whether an order is unused.
func blockOrder(c *compiled, free func(uint32) bool) uint32 {
	if c == nil || c.n == 0 {
		if free(1 << 31) {
			return 1 << 31
		}
	} else {
		if c.lo > 0 && free(c.lo-1) {
			return c.lo - 1
		}
		for o := c.hi + 1; o != 0; o++ {
			if free(o) {
				return o
			}
		}
	}
	for o := uint32(0); ; o++ {
		if free(o) {
			return o
		}
	}
}

// block adds jids to the blocklist.
func (s *Service) block(ctx context.Context, e env, st *sessState, jids []string) ([]func(), error) {
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := s.loadLocked(ctx, u, "request"); err != nil {
		return nil, err
	}
	list := u.defName
	created := list == ""
	if created {
		list = BlocklistName
	}
	var del, add, base []Item
	_, err := s.appendOps(ctx, u, func(doc *crdt.Doc, w *crdt.Writer) error {
		del, add = nil, nil
		cur := u.def.Load()
		if created {
			base = readList(doc, list)
			cur = compile(list, base)
			doc.Add(w, nameKey(list))
			doc.SetDoc(w, fDefault, []byte(list))
		}
		for _, j := range jids {
			if old, ok := readItem(doc, itemKey(list, TypeJID+"\x00"+j)); ok {
				if old.blocks() {
					continue
				}
				del = append(del, old)
			}
			it := Item{Type: TypeJID, Value: j, Deny: true}
			it.Order = blockOrder(cur, func(o uint32) bool { return !doc.Has(orderKey(list, o)) })
			putItem(doc, w, list, it)
			add = append(add, it)
			cur = cur.patch(nil, []Item{it})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.m.updates.WithLabelValues("block").Inc()
	if created {
		u.defName = list
		u.def.Store(compile(list, base))
	}
	return s.changedLocked(ctx, e, u, change{list: list, del: del, add: add}), nil
}

// unblock removes jids from the blocklist, or every blocked JID when jids
// is empty.
func (s *Service) unblock(ctx context.Context, e env, st *sessState, jids []string) ([]func(), error) {
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := s.loadLocked(ctx, u, "request"); err != nil {
		return nil, err
	}
	list := u.defName
	if list == "" {
		return nil, nil // nothing is blocked
	}
	all := len(jids) == 0
	if all {
		if d := u.def.Load(); d != nil {
			jids = d.blocked()
		}
	}
	var del []Item
	_, err := s.appendOps(ctx, u, func(doc *crdt.Doc, w *crdt.Writer) error {
		del = nil
		for _, j := range jids {
			if it, ok := readItem(doc, itemKey(list, TypeJID+"\x00"+j)); ok && it.blocks() {
				deleteItem(doc, w, list, it)
				del = append(del, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.m.updates.WithLabelValues("unblock").Inc()
	return s.changedLocked(ctx, e, u, change{list: list, del: del, unblockAll: all}), nil
}
