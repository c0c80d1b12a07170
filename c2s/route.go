package c2s

import (
	"context"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// Routing follows RFC 6121 §8 (and RFC 6120 §10) in the sender's goroutine:
// look the addressee up in the directory and push onto its queue. Nothing
// here takes a lock that other senders wait on, beyond the directory
// shard's read lock and the recipient queue.

// addressee classifies a 'to' JID.
type addressee uint8

const (
	toServer addressee = iota
	toLocalUser
	toHostedDomain // a component registered with HandleDomain
	toRemote
)

func (s *Server) classify(to jid.JID) addressee {
	switch d := to.Domainpart(); {
	case d == s.domain.Domainpart():
		if to.Localpart() == "" {
			return toServer
		}
		return toLocalUser
	default:
		if _, ok := s.reg.domains[d]; ok {
			return toHostedDomain
		}
		return toRemote
	}
}

// Route delivers a stanza that a feature or the server produced (its 'from'
// and 'to' already set) as if a client had sent it, including offline
// storage and error replies. sender may be nil.
func (s *Server) Route(ctx context.Context, sender *Session, st *stanza.Element) {
	to, err := ParseJID(st.Get("to"))
	if err != nil {
		return
	}
	switch st.Name.Local {
	case "message":
		s.routeMessage(ctx, sender, st, to)
	case "presence":
		s.routePresence(ctx, sender, st, to)
	case "iq":
		s.routeIQ(ctx, sender, st, to)
	}
}

// senderKey is the context key of the session whose stanza is routed.
type senderKey struct{}

// withSender notes in ctx the session whose stanza is being routed, so
// that routing decisions deep in the call tree reach its log.
func withSender(ctx context.Context, sender *Session) context.Context {
	if sender == nil {
		return ctx
	}
	return context.WithValue(ctx, senderKey{}, sender)
}

// routed counts a routing outcome for st and, while the sending session's
// debug switch is on, logs the decision at Debug on its logger (the live
// debug trace shows it).
func (s *Server) routed(ctx context.Context, st *stanza.Element, outcome string) {
	s.m.routed.WithLabelValues(st.Name.Local, outcome).Inc()
	if sender, _ := ctx.Value(senderKey{}).(*Session); sender != nil && sender.debugOn() {
		sender.log.Debug("routed", "stanza", st.Name.Local, "type", st.Get("type"),
			"id", st.Get("id"), "to", st.Get("to"), "outcome", outcome)
	}
}

// bounce answers st with serr, routed to st's sender.
func (s *Server) bounce(ctx context.Context, st *stanza.Element, serr *StanzaError) {
	reply := ErrorReply(st, serr, s.domain.String())
	if reply == nil {
		return
	}
	s.routed(ctx, st, "error")
	to, err := ParseJID(reply.Get("to"))
	if err != nil || to.Resourcepart() == "" {
		return
	}
	if r := findResource(s.dir.Resources(to.Bare().String()), to.Resourcepart()); r != nil {
		r.Send(reply)
	}
}

func (s *Server) routeMessage(ctx context.Context, sender *Session, msg *stanza.Element, to jid.JID) {
	ctx = withSender(ctx, sender)
	if to.Domainpart() == "" {
		// No 'to': the message is for the sender's own account.
		to = sender.jid.Bare()
		msg.Set("to", to.String())
	}
	switch s.classify(to) {
	case toServer:
		// The server has no message handlers of its own.
		s.bounce(ctx, msg, ServiceUnavailable(""))
	case toHostedDomain:
		s.toDomain(ctx, sender, msg, to)
	case toRemote:
		s.bounce(ctx, msg, RemoteServerNotFound("no server-to-server connections"))
	case toLocalUser:
		// The MessageInHooks (archive, stanza ids) run once the recipient's
		// privacy rules have admitted the message, right before it is first
		// queued or stored: a blocked message is neither archived nor
		// stamped.
		inHooks := sync.OnceFunc(func() { s.messageInHooks(ctx, msg, to) })
		if to.Resourcepart() == "" {
			s.messageDelivered(ctx, msg, to, s.routeToBare(ctx, sender, msg, to, inHooks))
			return
		}
		if r := findResource(s.dir.Resources(to.Bare().String()), to.Resourcepart()); r != nil {
			if !s.reg.admit(to, r, msg) {
				s.refused(ctx, msg)
				return
			}
			inHooks()
			if r.Send(msg) == nil {
				s.routed(ctx, msg, "delivered")
				s.messageDelivered(ctx, msg, to, []Resource{r})
				return
			}
		}
		// RFC 6121 §8.5.3.2.1: no such resource.
		switch msg.Get("type") {
		case "error":
		case "groupchat":
			s.bounce(ctx, msg, ServiceUnavailable(""))
		case "headline":
			s.routed(ctx, msg, "dropped")
		default: // chat, normal: as if sent to the bare JID
			s.messageDelivered(ctx, msg, to, s.routeToBare(ctx, sender, msg, to.Bare(), inHooks))
		}
	}
}

// messageDelivered runs the MessageDeliveredHooks for a message routing
// queued to the given resources of to's account.
func (s *Server) messageDelivered(ctx context.Context, msg *stanza.Element, to jid.JID, delivered []Resource) {
	if len(delivered) == 0 {
		return
	}
	for _, h := range s.reg.msgDelivered {
		h(ctx, to.Bare(), msg, delivered)
	}
}

// messageInHooks runs the MessageInHooks for a chat or normal message to
// a local account, before routing delivers or stores it. A message to an
// account that does not exist is bounced by routing and skips them.
func (s *Server) messageInHooks(ctx context.Context, msg *stanza.Element, to jid.JID) {
	if len(s.reg.msgIn) == 0 {
		return
	}
	if t := msg.Get("type"); t != "" && t != "chat" && t != "normal" {
		return
	}
	// No account check here: the hooks run only right before the message
	// is queued to a bound resource or stored offline, and undeliverable
	// has checked the account exists before storing (one storage read per
	// offline message, not two).
	bare := to.Bare()
	for _, h := range s.reg.msgIn {
		h(ctx, bare, msg)
	}
}

// routeMessageToBare applies RFC 6121 §8.5.2 for a message to a local
// user's bare JID: chat and normal go to the available resources with the
// highest non-negative priority, headline to every non-negative one; with
// none, chat and normal are stored offline. It returns the resources the
// message was queued to. A message routed again (its session went away)
// takes this path and does not pass the MessageInHooks a second time.
func (s *Server) routeMessageToBare(ctx context.Context, sender *Session, msg *stanza.Element, to jid.JID) []Resource {
	return s.routeToBare(ctx, sender, msg, to, nil)
}

// routeToBare is routeMessageToBare with before, when not nil, run right
// before the message is first queued to a resource or stored offline.
func (s *Server) routeToBare(ctx context.Context, sender *Session, msg *stanza.Element, to jid.JID, before func()) []Resource {
	if before == nil {
		before = func() {}
	}
	typ := msg.Get("type")
	switch typ {
	case "error":
		return nil
	case "groupchat":
		s.bounce(ctx, msg, ServiceUnavailable(""))
		return nil
	}
	resources := s.dir.Resources(to.String())
	var delivered []Resource
	if typ == "headline" {
		for _, r := range resources {
			if avail, prio := r.Available(); avail && prio >= 0 && s.reg.admit(to, r, msg) {
				before()
				if r.Send(msg) == nil {
					delivered = append(delivered, r)
				}
			}
		}
		outcome := "delivered"
		if delivered == nil {
			outcome = "dropped"
		}
		s.routed(ctx, msg, outcome)
		return delivered
	}
	// Try the highest priority first; if every resource of that priority
	// turns out to be gone, fall to the next.
	tried := map[Resource]bool{}
	refused := false
	for {
		best := -1
		for _, r := range resources {
			if avail, prio := r.Available(); avail && prio > best && !tried[r] {
				best = prio
			}
		}
		if best < 0 {
			break
		}
		for _, r := range resources {
			if avail, prio := r.Available(); avail && prio == best && !tried[r] {
				tried[r] = true
				if !s.reg.admit(to, r, msg) {
					refused = true
					continue
				}
				before()
				if r.Send(msg) == nil {
					delivered = append(delivered, r)
				}
			}
		}
		if delivered != nil {
			s.routed(ctx, msg, "delivered")
			return delivered
		}
	}
	if refused {
		// The resources there refused it: the sender learns no more than
		// if the user were offline and storing were refused (XEP-0016).
		s.refused(ctx, msg)
		return nil
	}
	s.undeliverable(ctx, msg, to, before)
	return nil
}

// refused answers a message or IQ request that an InboundFilter stopped
// with service-unavailable (XEP-0016 §2.13); anything else is dropped.
func (s *Server) refused(ctx context.Context, st *stanza.Element) {
	s.routed(ctx, st, "refused")
	switch t := st.Get("type"); {
	case st.Name.Local == "message" && t != "error",
		st.Name.Local == "iq" && (t == "get" || t == "set"):
		s.bounce(ctx, st, ServiceUnavailable(""))
	}
}

// undeliverable stores a chat or normal message for a user with no
// available resource, or bounces it when nothing can store it.
func (s *Server) undeliverable(ctx context.Context, msg *stanza.Element, to jid.JID, before func()) {
	if exists, err := s.acc.Exists(ctx, to.Localpart()); err == nil && !exists {
		s.bounce(ctx, msg, ServiceUnavailable(""))
		return
	}
	if !s.reg.admit(to, nil, msg) {
		s.refused(ctx, msg)
		return
	}
	h := s.reg.undeliverable
	if h == nil {
		s.bounce(ctx, msg, ServiceUnavailable("the recipient is offline"))
		return
	}
	before()
	if err := h(ctx, to, msg); err != nil {
		s.bounce(ctx, msg, AsStanzaError(err))
		return
	}
	s.routed(ctx, msg, "offline")
}

func (s *Server) toDomain(ctx context.Context, sender *Session, st *stanza.Element, to jid.JID) {
	entry := s.reg.domains[to.Domainpart()]
	if err := entry.h(ctx, sender, st); err != nil {
		s.bounce(ctx, st, AsStanzaError(err))
	}
}

func (s *Server) routePresence(ctx context.Context, sender *Session, p *stanza.Element, to jid.JID) {
	ctx = withSender(ctx, sender)
	switch s.classify(to) {
	case toServer:
		return // directed presence to the server: nothing to do
	case toHostedDomain:
		s.toDomain(ctx, sender, p, to)
		return
	case toRemote:
		s.bounce(ctx, p, RemoteServerNotFound("no server-to-server connections"))
		return
	}
	resources := s.dir.Resources(to.Bare().String())
	delivered := false
	if to.Resourcepart() != "" {
		if r := findResource(resources, to.Resourcepart()); r != nil {
			delivered = r.Send(p) == nil
		}
	} else {
		// RFC 6121 §8.5.2.1.2: presence to the bare JID goes to every
		// available resource.
		for _, r := range resources {
			if avail, _ := r.Available(); avail || p.Get("type") != "" {
				if r.Send(p) == nil {
					delivered = true
				}
			}
		}
	}
	outcome := "delivered"
	if !delivered {
		outcome = "dropped" // presence to no one is silently ignored
	}
	s.routed(ctx, p, outcome)
}

func (s *Server) routeIQ(ctx context.Context, sender *Session, iq *stanza.Element, to jid.JID) {
	ctx = withSender(ctx, sender)
	typ := iq.Get("type")
	request := typ == "get" || typ == "set"
	var scope Scope
	switch {
	case to.Domainpart() == "":
		scope, to = ToSelf, sender.jid.Bare()
	case s.classify(to) == toHostedDomain:
		s.toDomain(ctx, sender, iq, to)
		return
	case s.classify(to) == toRemote:
		if request {
			s.bounce(ctx, iq, RemoteServerNotFound("no server-to-server connections"))
		}
		return
	case s.classify(to) == toServer && to.Resourcepart() == "":
		scope = ToServer
	case s.classify(to) == toServer:
		if request {
			s.bounce(ctx, iq, ServiceUnavailable(""))
		}
		return
	case to.Resourcepart() != "":
		r := findResource(s.dir.Resources(to.Bare().String()), to.Resourcepart())
		if r != nil && !s.reg.admit(to, r, iq) {
			s.refused(ctx, iq)
			return
		}
		if r != nil && r.Send(iq) == nil {
			s.routed(ctx, iq, "delivered")
			return
		}
		if request { // RFC 6121 §8.5.3.2.3
			s.bounce(ctx, iq, ServiceUnavailable(""))
		}
		return
	case sender != nil && to.Equal(sender.jid.Bare()):
		scope = ToSelf
	default:
		scope = ToContact
	}
	if !request {
		// Responses to the server or to a bare JID: the server's own
		// requests (pings) need no answer processing.
		return
	}
	if sender == nil {
		return
	}
	if scope == ToContact && !s.reg.admit(to, nil, iq) {
		s.refused(ctx, iq)
		return
	}
	sender.serveIQ(ctx, iq, to, scope)
}

// serveIQ runs the handler registered for the payload's namespace and
// scope and answers the sender.
func (s *Session) serveIQ(ctx context.Context, el *stanza.Element, to jid.JID, scope Scope) {
	payload := el.Elements()[0]
	h := s.srv.reg.iqHandler(payload.Name.Space, scope)
	replyFrom := el.Get("to") // empty for a request to the account with no 'to'
	if h == nil {
		s.reply(ErrorReply(el, ServiceUnavailable(""), replyFrom))
		return
	}
	iq := &IQ{Session: s, From: s.jid, To: to, Type: el.Get("type"), ID: el.Get("id"), Payload: payload, Stanza: el}
	result, err := h(ctx, iq)
	defer func() {
		for _, f := range iq.after {
			f()
		}
	}()
	if err != nil {
		se := AsStanzaError(err)
		if se.Condition == CondInternalServerError && se.Err != nil {
			s.log.Error("iq handler failed", "ns", payload.Name.Space, "stanza_id", iq.ID, "err", se.Err)
		}
		s.reply(ErrorReply(el, se, replyFrom))
		return
	}
	reply := stanza.New(stanza.NSClient, "iq", "type", "result", "id", iq.ID, "from", replyFrom, "to", s.jid.String())
	if result != nil {
		reply.Append(result)
	}
	s.reply(reply)
}
