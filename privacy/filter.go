package privacy

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// Enforcement (XEP-0016 §2.2, §2.13; XEP-0191 §3.3). The c2s filters call
// in on the routing path; each evaluation is a slot or map load for the
// list in effect plus a few map lookups in it, and no storage access
// unless a group or subscription item needs a roster view that a change
// just invalidated, or an offline user's default list is not cached yet.

// inboundKind returns the kind a stanza has for its recipient's list.
// Presence other than notifications (subscriptions, probes, errors) has
// kind 0: only items without children stop it.
func inboundKind(st *stanza.Element) Kinds {
	switch st.Name.Local {
	case "message":
		return KindMessage
	case "iq":
		return KindIQ
	}
	if t := st.Get("type"); t == "" || t == "unavailable" {
		return KindPresenceIn
	}
	return 0
}

func kindLabel(st *stanza.Element) string { return st.Name.Local }

// bareOf returns the bare part of a normalised JID string.
func bareOf(s string) string {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// filterInbound applies the recipient's list in effect (the resource's
// active list, else the default; the default for offline storage) and,
// for presence notifications, the sender's presence-out rules.
func (s *Service) filterInbound(to jid.JID, r c2s.Resource, st *stanza.Element) bool {
	from := st.Get("from")
	if from == "" {
		return true
	}
	var list *compiled
	var u *userState
	if r != nil {
		if ss := s.stateOf(r); ss != nil {
			u, list = ss.user, ss.effective()
		}
	}
	if u == nil {
		u = s.cachedUser(to.Bare().String(), r == nil)
		if u == nil {
			return true
		}
		list = u.def.Load()
	}
	if bareOf(from) == u.bare {
		return true // a user's own resources are never blocked (XEP-0016 §2.1)
	}
	kind := inboundKind(st)
	if list != nil {
		deny, by, matched := list.decide(splitAddr(from), kind, s.rosterOf(u))
		if log := tracer(r); log != nil {
			traceVerdict(log, "in", list, st, kind, from, deny, by, matched)
		}
		if deny {
			s.m.blocked.WithLabelValues("in", kindLabel(st)).Inc()
			return false
		}
	}
	if kind == KindPresenceIn && !s.presenceOutAllowed(from, to, r, st) {
		s.m.blocked.WithLabelValues("out", "presence").Inc()
		return false
	}
	return true
}

// presenceOutAllowed applies the sender's presence-out rules to a
// presence notification from a local user's resource (the roster's
// broadcasts and probe answers reach contacts without passing the
// outbound filter). The verdict is traced on the sender's session.
func (s *Service) presenceOutAllowed(from string, to jid.JID, r c2s.Resource, st *stanza.Element) bool {
	var list *compiled
	var u *userState
	var sender c2s.Resource
	if v, ok := s.byJID.Load(from); ok {
		ss := v.(*sessState)
		u, list, sender = ss.user, ss.effective(), ss.res
	} else if v, ok := s.users.Load(bareOf(from)); ok {
		u = v.(*userState)
		list = u.def.Load()
	}
	if list == nil {
		return true
	}
	if r != nil {
		to = r.JID()
	}
	peer := to.String()
	deny, by, matched := list.decide(splitAddr(peer), KindPresenceOut, s.rosterOf(u))
	if log := tracer(sender); log != nil {
		traceVerdict(log, "out", list, st, KindPresenceOut, peer, deny, by, matched)
	}
	return !deny
}

// cachedUser returns the state of a local user for routing. For offline
// storage (load) a user not cached yet is read from storage once; for a
// resource the service never saw, nil.
func (s *Service) cachedUser(bare string, load bool) *userState {
	if v, ok := s.users.Load(bare); ok {
		u := v.(*userState)
		if !load || u.loadedFlag() {
			return u
		}
	}
	if !load {
		return nil
	}
	u := s.userEntry(bare)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u.mu.Lock()
	err := s.loadLocked(ctx, u, "offline")
	u.mu.Unlock()
	if err != nil {
		s.log.Error("privacy lists unavailable for offline delivery; none applied", "user", bare, "err", err)
	}
	return u
}

func (u *userState) loadedFlag() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.loaded
}

// filterOutbound applies the sender's list in effect to what a client
// sends: presence notifications by presence-out rules, everything else by
// the items without children ("nor send any stanzas to", §2.12). A
// refused message or IQ request is answered with not-acceptable, plus
// XEP-0191's <blocked/> when a block decided; presence and responses
// vanish.
func (s *Service) filterOutbound(_ context.Context, sess *c2s.Session, st *stanza.Element, to jid.JID) (bool, *c2s.StanzaError) {
	ss := s.stateOf(sess)
	if ss == nil {
		return false, nil
	}
	return s.outbound(ss, st, to.String(), tracer(sess))
}

// outbound applies ss's list to st sent to to, tracing the verdict on
// log when it is not nil.
func (s *Service) outbound(ss *sessState, st *stanza.Element, to string, log *slog.Logger) (bool, *c2s.StanzaError) {
	list := ss.effective()
	if list == nil {
		return false, nil
	}
	var kind Kinds
	typ := st.Get("type")
	if st.Name.Local == "presence" && (typ == "" || typ == "unavailable") {
		kind = KindPresenceOut
	}
	deny, by, matched := list.decide(splitAddr(to), kind, s.rosterOf(ss.user))
	if log != nil {
		traceVerdict(log, "out", list, st, kind, to, deny, by, matched)
	}
	if !deny {
		return false, nil
	}
	s.m.blocked.WithLabelValues("out", kindLabel(st)).Inc()
	switch {
	case st.Name.Local == "presence", typ == "error", st.Name.Local == "iq" && typ != "get" && typ != "set":
		return true, nil
	}
	serr := c2s.NotAcceptable("")
	if by.blocks() {
		serr.App = stanza.New(nsBlockingError, "blocked")
	}
	return true, serr
}
