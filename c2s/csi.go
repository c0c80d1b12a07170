package c2s

// Client state indication (XEP-0352) is built into the session's writer.
//
// The stream feature <csi xmlns='urn:xmpp:csi:0'/> is offered after
// authentication (§4.1). On a bound stream the client's <inactive/> and
// <active/> are nonzas: they do not count toward XEP-0198's h. The reader
// does not act on them itself; it puts them on the session's outbound queue,
// where the writer takes them in order with the stanzas. So everything
// queued before an <active/> was read is written before anything the server
// produces in answer to later input (§5.1 in-order processing), and the
// writer, which owns the held set, needs no lock.
//
// While the client is inactive the writer holds what only updates state the
// user is not looking at, and collapses it:
//
//   - presence updates (available or unavailable) from another full JID:
//     only the latest per sender is kept, so an unavailable replaces an
//     earlier available;
//   - messages that carry only XEP-0085 chat states (no body, no subject,
//     nothing but a chat state, thread, XEP-0334 hints and XEP-0359 ids),
//     also inside XEP-0280 carbon copies: only the latest per conversation.
//
// Everything else is written at once: messages with a body, subscription
// requests and other presence types, the client's own presence echo and a
// MUC room's self-presence (status 110, the answer to a join), errors, IQs.
// Before such a stanza the writer writes all that it holds, oldest first:
// no stanza overtakes one from the same sender queued before it, and once
// the client's radio is woken for something that matters, the held batch
// costs little more (the choice is deliberate: flushing only that sender's
// items would save a few more bytes at the price of reordering across
// senders). The writer also writes it all on <active/>, on resumption (the
// state is not kept across XEP-0198 resumption: a resumed stream starts
// active), and when the set would grow beyond Config.CSIMaxHeld entries.
//
// Held stanzas are not written, so stream management neither numbers nor
// counts them until they are. Nothing held needs rerouting when the session
// ends: presence from contacts is dropped as for any resource that goes
// away, and chat states are not worth delivering elsewhere.

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/stanza"
)

const (
	nsCSI        = "urn:xmpp:csi:0"
	nsChatStates = "http://jabber.org/protocol/chatstates" // XEP-0085
	nsHints      = "urn:xmpp:hints"                        // XEP-0334
	nsStanzaID   = "urn:xmpp:sid:0"                        // XEP-0359
	nsForward    = "urn:xmpp:forward:0"                    // XEP-0297
	nsMUCUser    = "http://jabber.org/protocol/muc#user"
)

// csiFeature advertises client state indication after authentication.
func csiFeature() *stanza.Element { return stanza.New(nsCSI, "csi") }

// handleCSI serves <active/> and <inactive/> on a bound stream by queueing
// them for the writer; anything else in the namespace ends the stream.
func (s *Session) handleCSI(el *stanza.Element) error {
	switch el.Name.Local {
	case "active", "inactive":
		s.Send(stanza.New(nsCSI, el.Name.Local)) // ErrGone: the session is ending anyway
		return nil
	}
	return &streamError{cond: streamUnsupportedStanza, text: "unknown client state indication element " + el.Name.Local}
}

// csiHeld is the writer's held set: stanzas in arrival order, each under a
// collapse key; a collapsed entry leaves a nil hole in order.
type csiHeld struct {
	inactive bool
	order    []*stanza.Element
	index    map[string]int // key → position in order
	keys     []string       // key of each position
}

func (h *csiHeld) live() int { return len(h.index) }

// add holds st under key and reports whether it replaced an entry.
func (h *csiHeld) add(key string, st *stanza.Element) (collapsed bool) {
	if h.index == nil {
		h.index = make(map[string]int)
	}
	if i, ok := h.index[key]; ok {
		h.order[i] = nil
		collapsed = true
		if holes := len(h.order) - len(h.index); holes > 64 && holes > len(h.index) {
			h.compact()
		}
	}
	h.index[key] = len(h.order)
	h.order = append(h.order, st)
	h.keys = append(h.keys, key)
	return collapsed
}

// compact removes the holes.
func (h *csiHeld) compact() {
	n := 0
	for i, st := range h.order {
		if st == nil {
			continue
		}
		h.order[n], h.keys[n] = st, h.keys[i]
		h.index[h.keys[n]] = n
		n++
	}
	clear(h.order[n:])
	h.order, h.keys = h.order[:n], h.keys[:n]
}

// take empties the set and returns what it held, oldest first.
func (h *csiHeld) take() []*stanza.Element {
	var out []*stanza.Element
	for _, st := range h.order {
		if st != nil {
			out = append(out, st)
		}
	}
	clear(h.order) // the backing arrays are reused: let go of what they held
	clear(h.keys)
	h.order, h.keys = h.order[:0], h.keys[:0]
	clear(h.index)
	return out
}

// csiKey says whether st, queued for s, may be held while the client is
// inactive, and under which collapse key.
func csiKey(s *Session, st *stanza.Element) (string, bool) {
	switch st.Name.Local {
	case "presence":
		if t := st.Get("type"); t != "" && t != "unavailable" {
			return "", false
		}
		from := st.Get("from")
		if from == s.jid.String() || isMUCSelfPresence(st) {
			return "", false
		}
		return "p\x00" + from, true
	case "message":
		if st.Get("type") == "error" {
			return "", false
		}
		if chatStateOnly(st) {
			return "c\x00" + st.Get("from"), true
		}
		for _, dir := range []string{"received", "sent"} {
			c := st.Child(nsCarbons, dir)
			if c == nil {
				continue
			}
			inner := c.Child(nsForward, "forwarded")
			if inner != nil {
				inner = inner.Child(stanza.NSClient, "message")
			}
			if inner != nil && len(st.Elements()) == 1 && chatStateOnly(inner) {
				return "c\x00" + dir + "\x00" + inner.Get("from") + "\x00" + inner.Get("to"), true
			}
		}
	}
	return "", false
}

// chatStateOnly reports whether msg carries a XEP-0085 chat state and
// nothing a user would miss.
func chatStateOnly(msg *stanza.Element) bool {
	state := false
	for _, c := range msg.Elements() {
		switch c.Name.Space {
		case nsChatStates:
			state = true
		case nsHints, nsStanzaID:
		case stanza.NSClient:
			if c.Name.Local != "thread" {
				return false // body, subject, error…
			}
		default:
			return false
		}
	}
	return state
}

// isMUCSelfPresence reports whether p is a room's presence for the
// recipient's own occupant (XEP-0045 status 110).
func isMUCSelfPresence(p *stanza.Element) bool {
	x := p.Child(nsMUCUser, "x")
	if x == nil {
		return false
	}
	for _, c := range x.Elements() {
		if c.Name.Local == "status" && c.Get("code") == "110" {
			return true
		}
	}
	return false
}

// csiMetrics count what client state indication saves.
type csiMetrics struct {
	held      prometheus.Counter
	collapsed prometheus.Counter
	flushed   *prometheus.CounterVec // reason: active, urgent, overflow, resumed
	inactive  prometheus.Gauge
}

func newCSIMetrics() *csiMetrics {
	return &csiMetrics{
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_csi_held_total", Help: "Stanzas held back from inactive clients (XEP-0352)."}),
		collapsed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_c2s_csi_collapsed_total", Help: "Held stanzas replaced by a newer one from the same sender, never written."}),
		flushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppd_c2s_csi_flushed_total",
			Help: "Held stanzas written, by reason: active, urgent (before a stanza written at once), overflow, resumed."},
			[]string{"reason"}),
		inactive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xmppd_c2s_csi_inactive_sessions", Help: "Bound sessions whose client said it is inactive."}),
	}
}

func (m *csiMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.held, m.collapsed, m.flushed, m.inactive}
}

// csiPut is the writer's gate: it applies a state change, holds st, or
// writes what is held before st. It reports whether st was consumed.
func (w *outWriter) csiPut(st *stanza.Element) bool {
	s, h := w.s, &w.csi
	if st.Name.Space == nsCSI {
		inactive := st.Name.Local == "inactive"
		switch {
		case inactive && !h.inactive:
			s.srv.m.csi.inactive.Inc()
		case !inactive && h.inactive:
			s.srv.m.csi.inactive.Dec()
			w.releaseHeld("active")
		}
		h.inactive = inactive
		w.flushIdle()
		return true
	}
	if !h.inactive || st.Name.Space == nsSM || w.unsent != nil {
		return false
	}
	if key, ok := csiKey(s, st); ok {
		if _, dup := h.index[key]; !dup && h.live() >= s.srv.cfg.csiMaxHeld() {
			// Full: what is held goes out, the newcomer starts afresh.
			w.releaseHeld("overflow")
		}
		s.srv.m.csi.held.Inc()
		if h.add(key, st) {
			s.srv.m.csi.collapsed.Inc()
		}
		// What an earlier stanza left buffered must not wait for the next.
		w.flushIdle()
		return true
	}
	w.releaseHeld("urgent")
	return false
}

// releaseHeld writes what is held, oldest first, leaving the buffer
// unflushed for the caller.
func (w *outWriter) releaseHeld(reason string) {
	if w.csi.live() == 0 {
		return
	}
	items := w.csi.take()
	w.s.srv.m.csi.flushed.WithLabelValues(reason).Add(float64(len(items)))
	for _, st := range items {
		w.send(st)
	}
}

// flushIdle flushes the buffer when it holds something and nothing more is
// queued.
func (w *outWriter) flushIdle() {
	if w.dead || w.unsent != nil || len(w.out) == 0 || w.pending > 0 || w.s.out.len() > 0 {
		return
	}
	if err := w.flush(); err != nil {
		w.lost(nil, true)
	}
}

// csiEnd runs as the writer ends: what is still held is dropped (see the
// package comment above) and the gauge forgets the session.
func (w *outWriter) csiEnd() {
	if w.csi.inactive {
		w.s.srv.m.csi.inactive.Dec()
		w.csi.inactive = false
	}
	w.csi.take()
}

// csiResumed returns the state to active after a XEP-0198 resumption and
// writes what was held (XEP-0352 §5.2 as of 0.2.1: the state is not
// restored on resumption).
func (w *outWriter) csiResumed() {
	if w.csi.inactive {
		w.s.srv.m.csi.inactive.Dec()
		w.csi.inactive = false
	}
	w.releaseHeld("resumed")
}
