package roster

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// subscription handles a subscription stanza (subscribe, subscribed,
// unsubscribe, unsubscribed) that self's client sent to 'to' (RFC 6121
// §3): the sender's roster changes, is pushed, and the stanza goes on to
// the contact with a bare 'from' when the state machine says so. For a
// local contact the contact's side runs right here, in the sender's
// goroutine.
func (s *Service) subscription(ctx context.Context, e env, self c2s.Resource, p *stanza.Element, to jid.JID) error {
	owner := self.JID().Bare().String()
	contact := to.Bare().String()
	typ := p.Get("type")
	if contact == owner {
		return nil // one's own presence needs no subscription
	}
	var old, next Item
	var route bool
	doc, err := s.update(ctx, owner, func(doc *crdt.Doc, w *crdt.Writer) error {
		old, _ = readItem(doc, contact)
		n := old
		switch typ {
		case "subscribe":
			n.State, route = old.State.OutSubscribe()
			n.Listed = true // §3.1.2: the contact joins the roster
		case "unsubscribe":
			n.State, route = old.State.OutUnsubscribe()
		case "subscribed":
			n.State, route = old.State.OutSubscribed()
			if n.State != old.State {
				n.Listed = true // approved or pre-approved contacts are listed
			}
		case "unsubscribed":
			n.State, route = old.State.OutUnsubscribed()
		}
		if !n.State.PendingIn {
			n.PendingStatus = ""
		}
		if n.State == old.State && n.Listed == old.Listed {
			return errNoChange
		}
		next = writeItem(doc, w, old, n)
		return nil
	})
	if err != nil {
		return err
	}
	if doc != nil {
		s.m.transitions.WithLabelValues("out", typ).Inc()
		if visibleChange(old, next) {
			s.changed(e, owner, doc, change{Item: next})
		} else {
			s.changed(e, owner, doc)
		}
	}
	if !route {
		return nil
	}
	s.forward(ctx, e, owner, contact, typ, p)
	switch {
	case typ == "subscribed" && next.State.From && !old.State.From:
		// §3.1.5: the new subscriber gets the owner's current presence.
		s.sendPresenceOf(ctx, e, owner, contact, false)
	case typ == "unsubscribed" && old.State.From:
		// §3.2.2: a cancelled subscriber sees the owner go offline.
		s.sendPresenceOf(ctx, e, owner, contact, true)
	}
	return nil
}

// forward sends a subscription stanza of typ from owner to contact (both
// bare): the contact's side is processed here when contact is local, or
// the stanza is routed. orig, when not nil, lends its children (status,
// nick).
func (s *Service) forward(ctx context.Context, e env, owner, contact, typ string, orig *stanza.Element) {
	out := stanza.New(stanza.NSClient, "presence", "type", typ, "from", owner, "to", contact)
	if orig != nil {
		out.Children = orig.Copy().Children
	}
	if !e.local(contact) {
		e.route(ctx, out)
		return
	}
	if err := s.inbound(ctx, e, owner, contact, out); err != nil {
		s.log.Error("subscription not recorded at the contact", "from", owner, "to", contact, "type", typ, "err", err)
	}
}

// inbound processes a subscription stanza st from sender at recipient, a
// local account (RFC 6121 §3, Appendix A.3): the recipient's roster
// changes, its clients see the stanza when the state machine says so, and
// the server answers for it when it already approved.
func (s *Service) inbound(ctx context.Context, e env, sender, recipient string, st *stanza.Element) error {
	typ := st.Get("type")
	var old, next Item
	var deliver, autoReply bool
	doc, err := s.update(ctx, recipient, func(doc *crdt.Doc, w *crdt.Writer) error {
		old, _ = readItem(doc, sender)
		n := old
		switch typ {
		case "subscribe":
			n.State, deliver, autoReply = old.State.InSubscribe()
			if deliver {
				n.PendingStatus = st.ChildText(stanza.NSClient, "status")
			}
		case "unsubscribe":
			n.State, deliver = old.State.InUnsubscribe()
		case "subscribed":
			n.State, deliver = old.State.InSubscribed()
		case "unsubscribed":
			n.State, deliver = old.State.InUnsubscribed()
		}
		if !n.State.PendingIn {
			n.PendingStatus = ""
		}
		if n.State == old.State {
			return errNoChange
		}
		next = writeItem(doc, w, old, n)
		return nil
	})
	if err != nil {
		return err
	}
	if doc != nil {
		s.m.transitions.WithLabelValues("in", typ).Inc()
		if visibleChange(old, next) {
			s.changed(e, recipient, doc, change{Item: next})
		} else {
			s.changed(e, recipient, doc)
		}
	}
	if deliver {
		s.deliverToBare(e, recipient, st, false)
	}
	switch {
	case autoReply:
		// §3.1.3: the server approves on the recipient's behalf and the
		// subscriber learns the recipient's presence.
		s.m.presence.WithLabelValues("subscription").Inc()
		s.forward(ctx, e, recipient, sender, "subscribed", nil)
		s.sendPresenceOf(ctx, e, recipient, sender, false)
	case typ == "unsubscribe" && old.State.From:
		// §3.3.3: the former subscriber sees the recipient go offline.
		s.sendPresenceOf(ctx, e, recipient, sender, true)
	}
	return nil
}

// deliverToBare hands st (addressed to the bare JID to) to each available
// resource of the local account to; all=true includes resources that have
// not sent presence yet.
func (s *Service) deliverToBare(e env, to string, st *stanza.Element, all bool) bool {
	delivered := false
	for _, r := range e.dir.Resources(to) {
		if avail, _ := r.Available(); avail || all {
			if r.Send(st) == nil {
				delivered = true
			}
		}
	}
	return delivered
}

// send delivers presence p, addressed to a bare JID, to the available
// resources of a local account, or routes it.
func (s *Service) send(ctx context.Context, e env, p *stanza.Element) {
	if to := p.Get("to"); e.local(to) {
		s.deliverToBare(e, to, p, false)
		return
	}
	e.route(ctx, p)
}

// sendPresenceOf sends the presence of owner's available resources to
// contact (a bare JID): their last presence, or unavailable when
// unavailable is set.
func (s *Service) sendPresenceOf(ctx context.Context, e env, owner, contact string, unavailable bool) {
	for _, r := range e.dir.Resources(owner) {
		last := r.LastPresence()
		if last == nil {
			continue
		}
		var p *stanza.Element
		if unavailable {
			p = stanza.New(stanza.NSClient, "presence", "type", "unavailable", "from", r.JID().String())
		} else {
			p = last.ShallowCopy()
			p.Set("from", r.JID().String())
		}
		p.Set("to", contact)
		s.m.presence.WithLabelValues("subscription").Inc()
		s.send(ctx, e, p)
	}
}
