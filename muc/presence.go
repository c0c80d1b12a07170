package muc

import (
	"context"
	"strconv"
	"time"

	"golang.org/x/time/rate"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// handlePresence serves presence to room/nick: join (XEP-0045 §7.2),
// presence changes (§7.7), nick changes (§7.6) and leaving (§7.14).
func (svc *Service) handlePresence(ctx context.Context, c *client, st *stanza.Element, to jid.JID) error {
	typ := st.Get("type")
	key := to.Bare().String()
	switch typ {
	case "unavailable":
		svc.leaveAll(ctx, c, to.Bare(), st)
		return nil
	case "":
	default:
		return nil // subscriptions and probes mean nothing to a room
	}
	nick := to.Resourcepart()
	if nick == "" {
		return c2s.JIDMalformed("a nickname is required to enter a room")
	}
	for {
		rm := svc.lookup(key)
		if rm == nil {
			if svc.allowCreate != nil && !svc.allowCreate(c.jid.Bare()) {
				return c2s.NotAllowed("room creation is restricted on this service")
			}
			if svc.roomLimitReached(c) {
				return svc.tooManyRooms()
			}
			svc.rooms.getOrCreate(key, func() *Room {
				r := newRoom(to.Bare())
				r.fresh = true
				svc.m.rooms.Inc()
				return r
			})
			continue // lock it through lookup: someone else may win it
		}
		err := svc.presenceInRoom(ctx, c, rm, st, nick)
		rm.mu.Unlock()
		return err
	}
}

func (svc *Service) roomLimitReached(c *client) bool {
	if !svc.users.add(c.jid.Bare().String(), 1, svc.cfg.maxRoomsPerUser()) {
		return true
	}
	svc.users.add(c.jid.Bare().String(), -1, 0)
	return false
}

func (svc *Service) tooManyRooms() error {
	return c2s.ResourceConstraint("too many rooms joined at once (limit " + strconv.Itoa(svc.cfg.maxRoomsPerUser()) + ")")
}

// presenceInRoom handles available presence with rm locked.
func (svc *Service) presenceInRoom(ctx context.Context, c *client, rm *Room, st *stanza.Element, nick string) error {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		err := svc.join(c, rm, st, nick)
		if err != nil && rm.fresh {
			svc.discard(rm)
		}
		return err
	}
	if o.nick != nick {
		return svc.changeNick(c, rm, o, st, nick)
	}
	o.pres = st
	rm.broadcastPresence(svc, o, "", nil, nil, nil)
	return nil
}

// join admits c to rm as nick (XEP-0045 §7.2), or returns the error the
// XEP gives for the first check that fails.
func (svc *Service) join(c *client, rm *Room, st *stanza.Element, nick string) error {
	bare := c.jid.Bare().String()
	x := st.Child(nsMUC, "x")
	created := rm.fresh
	aff := rm.affiliation(bare)
	if created {
		aff = affOwner
	}
	switch {
	case c.res == nil:
		return c2s.ServiceUnavailable("")
	case rm.locked && aff != affOwner:
		return c2s.ItemNotFound("the room is locked until its owner configures it")
	case aff == affOutcast:
		return c2s.Forbidden("you are banned from this room")
	case rm.byNick[nick] != nil:
		return c2s.Conflict("that nickname is in use")
	case rm.cfg.MembersOnly && aff < affMember:
		return &c2s.StanzaError{Type: c2s.Auth, Condition: c2s.CondRegistrationRequired, Text: "this room is for members only"}
	case rm.cfg.PasswordProtected && (x == nil || x.ChildText(nsMUC, "password") != rm.cfg.Password):
		return c2s.NotAuthorized("a password is required")
	case len(rm.list) >= rm.maxUsers(svc) && aff < affAdmin:
		return &c2s.StanzaError{Type: c2s.Wait, Condition: c2s.CondServiceUnavailable, Text: "the room is full"}
	}
	if !svc.users.add(bare, 1, svc.cfg.maxRoomsPerUser()) {
		return svc.tooManyRooms()
	}
	if created {
		rm.fresh = false
		rm.setAffiliation(bare, affOwner)
		// XEP-0045 §10.1.1: a room created with the MUC protocol stays
		// locked until configured; a groupchat 1.0 client gets an instant
		// room.
		rm.locked = x != nil
	}
	o := &occupant{
		nick:    nick,
		jid:     c.jid,
		full:    c.jid.String(),
		bare:    bare,
		res:     c.res,
		role:    rm.defaultRole(aff),
		pres:    st,
		limiter: rate.NewLimiter(rate.Limit(svc.cfg.messagesPerSecond()), svc.cfg.messageBurst()),
		mem:     c.mem,
	}
	for _, p := range rm.list {
		svc.deliver(o, rm.presenceOf(p, o.jid, o.role, "", nil))
	}
	rm.addOccupant(o)
	svc.m.occupants.Inc()
	if o.mem != nil {
		o.mem.set(rm.key, nick)
	}
	var self []int
	if rm.cfg.NonAnonymous {
		self = append(self, 100)
	}
	if created {
		self = append(self, 201)
	}
	rm.broadcastPresence(svc, o, "", nil, nil, self)
	svc.sendHistory(rm, o, x)
	subj := rm.subjectMessage()
	subj.Set("to", o.jid.String())
	svc.deliver(o, subj)
	return nil
}

// sendHistory sends o the room's history as x's <history/> limits it
// (XEP-0045 §7.2.14): at most maxstanzas messages, maxchars characters,
// none older than seconds or than since.
func (svc *Service) sendHistory(rm *Room, o *occupant, x *stanza.Element) {
	maxStanzas, maxChars := len(rm.history), -1
	var notBefore time.Time
	if x != nil {
		if h := x.Child(nsMUC, "history"); h != nil {
			if n, err := strconv.Atoi(h.Get("maxstanzas")); err == nil && n >= 0 && n < maxStanzas {
				maxStanzas = n
			}
			if n, err := strconv.Atoi(h.Get("maxchars")); err == nil && n >= 0 {
				maxChars = n
			}
			if n, err := strconv.Atoi(h.Get("seconds")); err == nil && n >= 0 {
				notBefore = svc.now().Add(-time.Duration(n) * time.Second)
			}
			if t, err := time.Parse(time.RFC3339, h.Get("since")); err == nil && t.After(notBefore) {
				notBefore = t
			}
		}
	}
	first, chars := len(rm.history), 0
	for i := len(rm.history) - 1; i >= 0 && len(rm.history)-i <= maxStanzas; i-- {
		it := &rm.history[i]
		if !notBefore.IsZero() && it.at.Before(notBefore) {
			break
		}
		if maxChars >= 0 && it.chars < 0 {
			it.chars = len(it.msg.AppendXML(nil, stanza.NSClient))
		}
		if maxChars >= 0 && chars+it.chars > maxChars {
			break
		}
		chars += it.chars
		first = i
	}
	for _, it := range rm.history[first:] {
		m := it.msg.ShallowCopy()
		m.Set("to", o.jid.String())
		svc.deliver(o, m)
	}
}

// changeNick renames o (XEP-0045 §7.6): unavailable from the old nick with
// 303 and the new nick, then available from the new one.
func (svc *Service) changeNick(c *client, rm *Room, o *occupant, st *stanza.Element, nick string) error {
	if rm.byNick[nick] != nil {
		return c2s.Conflict("that nickname is in use")
	}
	rm.broadcastPresence(svc, o, "unavailable", func(_, item *stanza.Element) { item.Set("nick", nick) }, []int{303}, nil)
	delete(rm.byNick, o.nick)
	o.nick = nick
	rm.byNick[nick] = o
	o.pres = st
	if o.mem != nil {
		o.mem.set(rm.key, nick)
	}
	rm.broadcastPresence(svc, o, "", nil, nil, nil)
	return nil
}

// leaveAll removes c's occupant from the room roomJID, if any, telling
// everyone (XEP-0045 §7.14). pres is the unavailable presence the user
// sent, or nil.
func (svc *Service) leaveAll(ctx context.Context, c *client, roomJID jid.JID, pres *stanza.Element) {
	rm := svc.lookup(roomJID.String())
	if rm == nil {
		if c.mem != nil {
			c.mem.remove(roomJID.String())
		}
		return
	}
	defer rm.mu.Unlock()
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return
	}
	if pres == nil {
		pres = stanza.New(stanza.NSClient, "presence", "type", "unavailable")
	}
	svc.remove(rm, o, pres, nil)
}

// remove takes o out of rm and sends its unavailable presence to everyone
// left and to o, with codes and x's additions; the room goes if it was
// temporary and is now empty. rm is locked.
func (svc *Service) remove(rm *Room, o *occupant, pres *stanza.Element, x func(x, item *stanza.Element), codes ...int) {
	rm.removeOccupant(o)
	svc.m.occupants.Dec()
	o.role = roleNone
	o.pres = pres
	rm.broadcastPresence(svc, o, "unavailable", x, codes, nil)
	svc.users.add(o.bare, -1, 0)
	if o.mem != nil {
		o.mem.remove(rm.key)
	}
	svc.discardIfEmpty(rm)
}
