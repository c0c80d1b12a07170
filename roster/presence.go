package roster

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// handlePresence sees every presence a client sends, after the core
// updated availability and echoed undirected presence to the user's own
// resources (RFC 6121 §4).
func (s *Service) handlePresence(ctx context.Context, sess *c2s.Session, p *stanza.Element) (bool, error) {
	return s.presence(ctx, envFor(sess), sess, p)
}

// presence handles p from self. Subscription stanzas and probes are taken
// over (handled=true): a probe never reaches a client, and subscription
// stanzas travel with a bare 'from' after the state machine ran. Directed
// presence is tracked and left to the core to route.
func (s *Service) presence(ctx context.Context, e env, self c2s.Resource, p *stanza.Element) (bool, error) {
	typ := p.Get("type")
	rawTo := p.Get("to")
	if rawTo == "" {
		switch typ {
		case "":
			return false, s.broadcast(ctx, e, self, p)
		case "unavailable":
			return false, s.goneUnavailable(ctx, e, self, p)
		}
		return false, nil
	}
	to, err := jid.Parse(rawTo)
	if err != nil {
		return true, c2s.JIDMalformed("invalid 'to' address")
	}
	switch typ {
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return true, s.subscription(ctx, e, self, p, to)
	case "probe":
		return true, s.clientProbe(ctx, e, self, to)
	case "":
		st := s.state(self)
		st.mu.Lock()
		if st.directed == nil {
			st.directed = map[string]struct{}{}
		}
		st.directed[to.String()] = struct{}{}
		st.mu.Unlock()
	case "unavailable":
		st := s.state(self)
		st.mu.Lock()
		delete(st.directed, to.String())
		st.mu.Unlock()
	}
	return false, nil
}

// contactsFor returns self's cached presence view of its roster, loading
// it (one storage read) the first time.
func (s *Service) contactsFor(ctx context.Context, self c2s.Resource) (*contacts, error) {
	st := s.state(self)
	if c := st.contacts.Load(); c != nil {
		return c, nil
	}
	doc, err := s.load(ctx, self.JID().Bare().String(), "presence")
	if err != nil {
		return nil, err
	}
	c := contactsOf(doc)
	if !st.contacts.CompareAndSwap(nil, c) {
		return st.contacts.Load(), nil // a concurrent change rebuilt it
	}
	return c, nil
}

// broadcast sends available presence p to the contacts subscribed to the
// user (from, both), and nowhere else (§4.2.2, §4.4.2).
func (s *Service) broadcast(ctx context.Context, e env, self c2s.Resource, p *stanza.Element) error {
	c, err := s.contactsFor(ctx, self)
	if err != nil {
		return err
	}
	s.toSubscribers(ctx, e, c, p)
	return nil
}

// toSubscribers sends a copy of p to each subscriber's bare JID.
func (s *Service) toSubscribers(ctx context.Context, e env, c *contacts, p *stanza.Element) {
	for _, contact := range c.from {
		out := p.ShallowCopy()
		out.Set("to", contact)
		s.m.presence.WithLabelValues("broadcast").Inc()
		s.send(ctx, e, out)
	}
}

// handleAvailable runs on a session's initial presence (§4.2.2): it
// answers the probes the server would send to the user's contacts (to,
// both) with their resources' last presence — directory lookups, no
// storage reads — passes on the presence of the user's other resources,
// and delivers the subscription requests still waiting for an answer
// (§3.1.3).
func (s *Service) handleAvailable(ctx context.Context, sess *c2s.Session) {
	s.available(ctx, envFor(sess), sess)
}

func (s *Service) available(ctx context.Context, e env, self c2s.Resource) {
	c, err := s.contactsFor(ctx, self)
	if err != nil {
		s.log.Error("initial presence: roster unavailable", "jid", self.JID().String(), "err", err)
		return
	}
	me := self.JID()
	for _, contact := range c.to {
		if e.local(contact) {
			s.probeAnswer(self, e.dir.Resources(contact), "")
		}
	}
	for _, r := range e.dir.Resources(me.Bare().String()) {
		if r.JID().Equal(me) {
			continue
		}
		if last := r.LastPresence(); last != nil {
			out := last.ShallowCopy()
			out.Set("to", me.String())
			self.Send(out)
		}
	}
	for _, req := range c.pendingIn {
		out := stanza.New(stanza.NSClient, "presence", "type", "subscribe", "from", req.jid, "to", me.Bare().String())
		if req.status != "" {
			out.Append(stanza.New(stanza.NSClient, "status").SetText(req.status))
		}
		self.Send(out)
	}
}

// probeAnswer sends self the last presence of each available resource in
// rs (only the one named res, when res is not empty).
func (s *Service) probeAnswer(self c2s.Resource, rs []c2s.Resource, res string) {
	for _, r := range rs {
		if res != "" && r.JID().Resourcepart() != res {
			continue
		}
		last := r.LastPresence()
		if last == nil {
			continue
		}
		out := last.ShallowCopy()
		out.Set("from", r.JID().String())
		out.Set("to", self.JID().String())
		if self.Send(out) == nil {
			s.m.presence.WithLabelValues("probe_answer").Inc()
		}
	}
}

// clientProbe answers a probe a client sent (§4.3): only a contact whose
// presence the user is subscribed to answers, and only a local one can.
func (s *Service) clientProbe(ctx context.Context, e env, self c2s.Resource, to jid.JID) error {
	contact := to.Bare().String()
	if contact == self.JID().Bare().String() {
		s.probeAnswer(self, e.dir.Resources(contact), to.Resourcepart())
		return nil
	}
	c, err := s.contactsFor(ctx, self)
	if err != nil {
		return err
	}
	if c.hasTo(contact) && e.local(contact) {
		s.probeAnswer(self, e.dir.Resources(contact), to.Resourcepart())
	}
	return nil
}

// goneUnavailable tells the user's subscribers and everyone self sent
// directed presence to that self went offline (§4.5.2, §4.6.3). The core
// calls it for an explicit unavailable and when a session ends without
// one, TCP drops included.
func (s *Service) goneUnavailable(ctx context.Context, e env, self c2s.Resource, p *stanza.Element) error {
	c, err := s.contactsFor(ctx, self)
	if err != nil {
		return err
	}
	s.toSubscribers(ctx, e, c, p)
	st := s.state(self)
	st.mu.Lock()
	directed := st.directed
	st.directed = nil
	st.mu.Unlock()
	for to := range directed {
		j, err := jid.Parse(to)
		if err != nil || c.hasFrom(j.Bare().String()) && j.Resourcepart() == "" {
			continue // already told by the broadcast
		}
		out := stanza.New(stanza.NSClient, "presence", "type", "unavailable", "from", self.JID().String(), "to", to)
		s.m.presence.WithLabelValues("directed_unavailable").Inc()
		e.route(ctx, out)
	}
	return nil
}
