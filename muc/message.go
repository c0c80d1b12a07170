package muc

import (
	"context"
	"strconv"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/stanza"
)

// handleMessage serves messages to a room (groupchat, subject changes,
// invitations, declines, voice requests) and to occupants (private
// messages).
func (svc *Service) handleMessage(ctx context.Context, c *client, st *stanza.Element, to jid.JID) error {
	rm := svc.lookup(to.Bare().String())
	if rm == nil {
		return c2s.ItemNotFound("no such room")
	}
	defer rm.mu.Unlock()
	if rm.locked && st.Child(nsMUCUser, "x") == nil {
		if o := rm.byJID[c.jid.String()]; o == nil {
			return c2s.ItemNotFound("no such room")
		}
	}
	typ := st.Get("type")
	if to.Resourcepart() != "" {
		if typ == "groupchat" {
			return c2s.BadRequest("a groupchat message goes to the room, not to an occupant")
		}
		return svc.privateMessage(rm, c, st, to.Resourcepart())
	}
	if typ == "groupchat" {
		return svc.groupchat(ctx, rm, c, st)
	}
	if x := st.Child(nsMUCUser, "x"); x != nil {
		if x.Child(nsMUCUser, "invite") != nil {
			return svc.invite(rm, c, x)
		}
		if d := x.Child(nsMUCUser, "decline"); d != nil {
			return svc.decline(rm, c, d)
		}
	}
	if form := dataForm(st); form != nil && form.formType() == nsRequest {
		return svc.voiceRequest(rm, c, form)
	}
	return c2s.BadRequest("a message to a room is a groupchat message, an invitation, a decline or a voice request")
}

// checkLimits applies the service's message size and rate limits.
func (svc *Service) checkLimits(o *occupant, st *stanza.Element) error {
	n := 0
	for _, c := range st.Children {
		if e := c.Elem; e != nil && e.Name.Space == stanza.NSClient && (e.Name.Local == "body" || e.Name.Local == "subject") {
			n += len(e.Text())
		}
	}
	if n > svc.cfg.maxMessageBytes() {
		return c2s.NotAcceptable("message too large (limit " + strconv.Itoa(svc.cfg.maxMessageBytes()) + " bytes)")
	}
	if !o.limiter.Allow() {
		return c2s.ResourceConstraint("too many messages: slow down")
	}
	return nil
}

// groupchat reflects a message to every occupant, sender included, from
// the sender's room JID (XEP-0045 §7.4), keeping it for history; a message
// with a subject and no body changes the subject (§8.1).
func (svc *Service) groupchat(ctx context.Context, rm *Room, c *client, st *stanza.Element) error {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return c2s.NotAcceptable("only occupants may send messages to the room")
	}
	if o.role < roleParticipant {
		return c2s.Forbidden("visitors have no voice in this room")
	}
	if err := svc.checkLimits(o, st); err != nil {
		return err
	}
	subj := st.Child(stanza.NSClient, "subject")
	isSubject := subj != nil && st.Child(stanza.NSClient, "body") == nil
	if isSubject && o.role != roleModerator && !rm.cfg.ChangeSubject {
		return c2s.Forbidden("only moderators may change the subject")
	}
	out := st.ShallowCopy()
	out.Set("from", rm.occupantJID(o.nick))
	out.Set("to", "")
	if isSubject {
		rm.subject, rm.subjectFrom, rm.hasSubject = subj.Text(), o.nick, true
		svc.m.subject.Inc()
		rm.sendToAll(svc, out)
		svc.persist(rm)
		return nil
	}
	svc.m.groupchat.Inc()
	out = svc.archiveGroupchat(ctx, rm, out)
	rm.sendToAll(svc, out)
	svc.remember(rm, out)
	return nil
}

// archiveGroupchat keeps a groupchat message with a body in the room's
// archive and returns it as reflected: without stanza ids claiming to be
// the room's (XEP-0359 §3.1) and, once archived, with the room's
// <stanza-id/>. A storage failure is logged; the message goes out anyway.
func (svc *Service) archiveGroupchat(ctx context.Context, rm *Room, out *stanza.Element) *stanza.Element {
	kids := make([]stanza.Node, 0, len(out.Children)+1)
	for _, n := range out.Children {
		if e := n.Elem; e != nil && e.Name.Space == mam.NSSID && e.Name.Local == "stanza-id" && e.Get("by") == rm.key {
			continue
		}
		kids = append(kids, n)
	}
	out.Children = kids
	if svc.archive == nil || out.Child(stanza.NSClient, "body") == nil {
		return out
	}
	id, err := svc.archive.Append(ctx, rm.jid, out)
	if err != nil {
		svc.log.Error("archiving a groupchat message failed", "room", rm.key, "err", err)
		return out
	}
	out.Append(stanza.New(mam.NSSID, "stanza-id", "by", rm.key, "id", id))
	return out
}

// remember keeps msg for history on join, stamped with a XEP-0203 delay
// from the room.
func (svc *Service) remember(rm *Room, msg *stanza.Element) {
	max := svc.cfg.historyLength()
	if max == 0 || msg.Child(stanza.NSClient, "body") == nil {
		return
	}
	now := svc.now().UTC()
	h := msg.ShallowCopy()
	h.Children = append(append(make([]stanza.Node, 0, len(msg.Children)+1), msg.Children...),
		stanza.Node{Elem: stanza.New(nsDelay, "delay", "from", rm.key, "stamp", now.Format("2006-01-02T15:04:05.000Z"))})
	// The encoded length is only needed by a join that asks for
	// maxchars: sendHistory measures it then, once per item.
	it := historyItem{at: now, msg: h, chars: -1}
	if len(rm.history) >= max {
		copy(rm.history, rm.history[1:])
		rm.history = rm.history[:len(rm.history)-1]
	}
	rm.history = append(rm.history, it)
}

// privateMessage passes a message between occupants (XEP-0045 §7.5).
func (svc *Service) privateMessage(rm *Room, c *client, st *stanza.Element, nick string) error {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return c2s.NotAcceptable("only occupants may send private messages")
	}
	target := rm.byNick[nick]
	if target == nil {
		return c2s.ItemNotFound("no occupant with that nickname")
	}
	switch rm.cfg.AllowPM {
	case "none":
		return c2s.Forbidden("private messages are disabled in this room")
	case "moderators":
		if o.role < roleModerator {
			return c2s.Forbidden("only moderators may send private messages")
		}
	case "participants":
		if o.role < roleParticipant {
			return c2s.Forbidden("only participants may send private messages")
		}
	}
	if err := svc.checkLimits(o, st); err != nil {
		return err
	}
	out := st.ShallowCopy()
	out.Children = append(make([]stanza.Node, 0, len(st.Children)+1), st.Children...)
	if st.Child(nsMUCUser, "x") == nil {
		out.Append(stanza.New(nsMUCUser, "x"))
	}
	out.Set("from", rm.occupantJID(o.nick))
	out.Set("to", target.jid.String())
	svc.m.private.Inc()
	svc.deliver(target, out)
	return nil
}

// invite passes mediated invitations on (XEP-0045 §7.8.2). In a
// members-only room, an invitation by an admin or owner (or by a member
// when the room allows member invitations) makes the invitee a member.
func (svc *Service) invite(rm *Room, c *client, x *stanza.Element) error {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return c2s.NotAcceptable("only occupants may invite")
	}
	aff := rm.affiliation(o.bare)
	if rm.cfg.MembersOnly && aff < affAdmin && !(rm.cfg.AllowInvites && aff >= affMember) {
		return c2s.Forbidden("only admins and owners may invite to this room")
	}
	var invites []*stanza.Element
	var invitees []jid.JID
	for _, inv := range x.Elements() {
		if inv.Name.Space != nsMUCUser || inv.Name.Local != "invite" {
			continue
		}
		j, err := jid.Parse(inv.Get("to"))
		if err != nil || inv.Get("to") == "" {
			return c2s.JIDMalformed("invitation without a valid 'to'")
		}
		invites, invitees = append(invites, inv), append(invitees, j)
	}
	changed := false
	for i, inv := range invites {
		to := invitees[i]
		ix := stanza.New(nsMUCUser, "x")
		ie := stanza.New(nsMUCUser, "invite", "from", c.jid.Bare().String())
		if r := inv.Child(nsMUCUser, "reason"); r != nil {
			ie.Append(stanza.New(nsMUCUser, "reason").SetText(r.Text()))
		}
		ix.Append(ie)
		if rm.cfg.PasswordProtected {
			ix.Append(stanza.New(nsMUCUser, "password").SetText(rm.cfg.Password))
		}
		msg := stanza.New(stanza.NSClient, "message", "from", rm.key, "to", to.String()).Append(ix)
		c.later = append(c.later, msg)
		if rm.cfg.MembersOnly && rm.affiliation(to.Bare().String()) < affMember && rm.affiliation(to.Bare().String()) != affOutcast {
			rm.setAffiliation(to.Bare().String(), affMember)
			changed = true
		}
		svc.m.messages.WithLabelValues("invite").Inc()
	}
	if changed {
		svc.persist(rm)
	}
	return nil
}

// decline passes an invitee's decline to the inviter (XEP-0045 §7.8.2).
func (svc *Service) decline(rm *Room, c *client, d *stanza.Element) error {
	to, err := jid.Parse(d.Get("to"))
	if err != nil || d.Get("to") == "" {
		return c2s.JIDMalformed("decline without a valid 'to'")
	}
	de := stanza.New(nsMUCUser, "decline", "from", c.jid.Bare().String())
	if r := d.Child(nsMUCUser, "reason"); r != nil {
		de.Append(stanza.New(nsMUCUser, "reason").SetText(r.Text()))
	}
	msg := stanza.New(stanza.NSClient, "message", "from", rm.key, "to", to.String()).
		Append(stanza.New(nsMUCUser, "x").Append(de))
	c.later = append(c.later, msg)
	svc.m.messages.WithLabelValues("decline").Inc()
	return nil
}
