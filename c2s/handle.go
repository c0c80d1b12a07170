package c2s

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// serveStanzas is the read loop of a bound session: read one stanza, check
// it, route it — in this goroutine — and repeat.
func (s *Session) serveStanzas() {
	ctx := context.Background()
	if s.limits == nil {
		s.limits = s.srv.newSessionLimits()
	}
	for {
		el, err := s.readElement(s.dec)
		if err != nil && s.shouldDetach(err) && s.detach() {
			continue // resumed on a new connection (XEP-0198)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.closeWith(nil) // client closed the stream: answer in kind
				return
			}
			s.fail(err)
			return
		}
		if el.Name.Space == nsSM {
			if err := s.handleSM(el); err != nil {
				s.fail(err)
				return
			}
			continue
		}
		if el.Name.Space == nsCSI {
			// XEP-0352 nonzas: not counted by stream management.
			if err := s.handleCSI(el); err != nil {
				s.fail(err)
				return
			}
			continue
		}
		if s.sm.on {
			// XEP-0198 §4: every stanza received counts, whether it is
			// routed, answered with an error or refused by a limit.
			s.sm.handled.Add(1)
		}
		start := time.Now()
		if ok, err := s.admit(el, start); err != nil {
			s.fail(err)
			return
		} else if !ok {
			continue
		}
		if err := s.handleStanza(s.traceContext(ctx), el); err != nil {
			s.fail(err)
			return
		}
		s.srv.m.handling.of(el.Name.Local).Observe(time.Since(start).Seconds())
	}
}

// handleStanza validates addressing and dispatches by stanza kind. A
// returned error closes the stream; stanza-level problems are answered with
// stanza errors and return nil.
func (s *Session) handleStanza(ctx context.Context, el *stanza.Element) error {
	if el.Name.Space != stanza.NSClient {
		return &streamError{cond: streamUnsupportedStanza, text: "unknown top-level element " + el.Name.Local}
	}
	kind := el.Name.Local
	if kind != "message" && kind != "presence" && kind != "iq" {
		return &streamError{cond: streamUnsupportedStanza, text: "unknown top-level element " + kind}
	}
	s.srv.m.in.of(kind).Inc()

	// RFC 6120 §8.1.2.1: the server stamps 'from'; a client may only
	// claim its own full or bare JID.
	if from := el.Get("from"); from != "" {
		j, _, err := s.srv.addrs.parse(from)
		if err != nil || !(j.Equal(s.jid) || j.Equal(s.jid.Bare())) {
			return &streamError{cond: streamInvalidFrom, text: "'from' does not match the authenticated JID"}
		}
	}
	el.Set("from", s.jidString)

	var to jid.JID
	if raw := el.Get("to"); raw != "" {
		j, norm, err := s.srv.addrs.parse(raw)
		if err != nil {
			s.reply(ErrorReply(el, JIDMalformed("invalid 'to' address"), s.srv.domain.String()))
			return nil
		}
		to = j
		if norm != raw {
			el.Set("to", norm)
		}
	}
	if len(s.srv.reg.outFilters) > 0 && to.Domainpart() != "" && !to.Bare().Equal(s.jid.Bare()) {
		for _, f := range s.srv.reg.outFilters {
			if drop, serr := f(ctx, s, el, to); drop {
				if serr != nil {
					s.reply(ErrorReply(el, serr, s.srv.domain.String()))
				}
				return nil
			}
		}
	}
	switch kind {
	case "message":
		for _, h := range s.srv.reg.msgSent {
			h(ctx, s, el)
		}
		s.srv.routeMessage(ctx, s, el, to)
	case "presence":
		return s.handlePresence(ctx, el, to)
	case "iq":
		s.handleIQ(ctx, el, to)
	}
	return nil
}

// reply queues st (an answer to this session's own request) to itself.
func (s *Session) reply(st *stanza.Element) {
	if st == nil {
		return
	}
	if st.Get("to") == "" {
		st.Set("to", s.jid.String())
	}
	s.Send(st)
}

// handleIQ applies the IQ rules of RFC 6120 §8.2.3 and routes or serves the
// request.
func (s *Session) handleIQ(ctx context.Context, el *stanza.Element, to jid.JID) {
	typ := el.Get("type")
	payloads := el.Elements()
	switch typ {
	case "get", "set":
		if el.Get("id") == "" || len(payloads) != 1 {
			s.reply(ErrorReply(el, BadRequest("an IQ request needs an id and exactly one payload"), s.srv.domain.String()))
			return
		}
	case "result", "error":
		if el.Get("id") == "" || (typ == "result" && len(payloads) > 1) {
			return // malformed response: never answered with an error
		}
	default:
		s.reply(ErrorReply(el, BadRequest("unknown IQ type"), s.srv.domain.String()))
		return
	}
	s.srv.routeIQ(ctx, s, el, to)
}

// handlePresence tracks availability and priority for undirected presence,
// lets features (roster) process it, and routes directed presence.
func (s *Session) handlePresence(ctx context.Context, el *stanza.Element, to jid.JID) error {
	typ := el.Get("type")
	if typ == "" {
		for _, d := range s.srv.reg.presDecorators {
			d(ctx, s, el)
		}
	}
	if to.Domainpart() == "" {
		switch typ {
		case "":
			prio, ok := parsePriority(el.ChildText(stanza.NSClient, "priority"))
			if !ok {
				s.reply(ErrorReply(el, BadRequest("priority must be an integer from -128 to 127"), s.srv.domain.String()))
				return nil
			}
			wasAvailable, _ := s.Available()
			s.setPresence(true, prio)
			s.lastPres.Store(el)
			s.broadcastToOwnResources(el)
			s.presenceHooks(ctx, el)
			if !wasAvailable {
				for _, h := range s.srv.reg.onAvailable {
					h(ctx, s)
				}
			}
			return nil
		case "unavailable":
			wasAvailable, _ := s.Available()
			s.setPresence(false, 0)
			s.lastPres.Store(nil)
			if wasAvailable {
				s.broadcastToOwnResources(el)
			}
			s.presenceHooks(ctx, el)
			return nil
		case "error":
			return nil
		}
		// Subscription requests and probes without an addressee.
		s.reply(ErrorReply(el, BadRequest("this presence type needs a 'to'"), s.srv.domain.String()))
		return nil
	}
	if !s.presenceHooks(ctx, el) {
		s.srv.routePresence(ctx, s, el, to)
	}
	return nil
}

// presenceHooks runs the features' presence handlers until one takes the
// stanza over, and reports whether one did. A handler's error is answered
// (a *StanzaError) or logged, and counts as taking the stanza over: it is
// not routed further, and the stream stays open.
func (s *Session) presenceHooks(ctx context.Context, el *stanza.Element) (handled bool) {
	for _, h := range s.srv.reg.presence {
		handled, err := h(ctx, s, el)
		if err != nil {
			var se *StanzaError
			if errors.As(err, &se) {
				s.reply(ErrorReply(el, se, s.srv.domain.String()))
			} else {
				s.log.Error("presence handler failed", "err", err)
			}
			return true
		}
		if handled {
			return true
		}
	}
	return false
}

// broadcastToOwnResources sends the user's undirected presence to all of
// the user's available resources, the sending one included (RFC 6121
// §4.2.2, §4.5.2).
func (s *Session) broadcastToOwnResources(el *stanza.Element) {
	for _, r := range s.srv.dir.Resources(s.jid.Bare().String()) {
		if avail, _ := r.Available(); !avail {
			continue
		}
		c := el.ShallowCopy()
		c.Set("to", r.JID().String())
		r.Send(c)
	}
}

// broadcastUnavailable tells the user's other resources and the presence
// hooks that this session went away without saying goodbye.
func (s *Session) broadcastUnavailable(ctx context.Context) {
	p := stanza.New(stanza.NSClient, "presence", "type", "unavailable", "from", s.jid.String())
	s.broadcastToOwnResources(p)
	s.presenceHooks(ctx, p)
}

// parsePriority parses a <priority/> value; empty means 0.
func parsePriority(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -128 || n > 127 {
		return 0, false
	}
	return n, true
}
