package muc

import (
	"sort"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// actor is who sends an admin or owner request: an affiliation always,
// a role when the sender is in the room.
type actor struct {
	occ  *occupant // nil when not in the room
	aff  affiliation
	role role
	nick string
}

func (rm *Room) actorOf(c *client) actor {
	a := actor{aff: rm.affiliation(c.jid.Bare().String())}
	if o := rm.byJID[c.jid.String()]; o != nil {
		a.occ, a.role, a.nick = o, o.role, o.nick
	}
	return a
}

// adminGet returns a role list (moderators only) or an affiliation list
// (admins and owners) — XEP-0045 §8.5, §9.5, §9.8, §10.5, §10.8.
func (svc *Service) adminGet(rm *Room, c *client, q *stanza.Element) (*stanza.Element, error) {
	items := adminItems(q)
	if len(items) != 1 {
		return nil, c2s.BadRequest("ask for one list at a time")
	}
	it := items[0]
	a := rm.actorOf(c)
	res := stanza.New(nsMUCAdmin, "query")
	if r, ok := parseRole(it.Get("role")); ok && it.Get("role") != "" {
		if a.role != roleModerator {
			return nil, c2s.Forbidden("only moderators may see role lists")
		}
		for _, o := range rm.list {
			if o.role == r {
				res.Append(stanza.New(nsMUCAdmin, "item", "nick", o.nick, "role", o.role.String(),
					"affiliation", rm.affiliation(o.bare).String(), "jid", o.jid.String()))
			}
		}
		return res, nil
	}
	af, ok := parseAffiliation(it.Get("affiliation"))
	if !ok || af == affNone {
		return nil, c2s.BadRequest("ask for a role or an affiliation other than none")
	}
	if a.aff < affAdmin {
		return nil, c2s.Forbidden("only admins and owners may see affiliation lists")
	}
	var jids []string
	for j, x := range rm.affs {
		if x == af {
			jids = append(jids, j)
		}
	}
	sort.Strings(jids)
	for _, j := range jids {
		res.Append(stanza.New(nsMUCAdmin, "item", "affiliation", af.String(), "jid", j))
	}
	return res, nil
}

func adminItems(q *stanza.Element) []*stanza.Element {
	var out []*stanza.Element
	for _, e := range q.Elements() {
		if e.Name.Space == nsMUCAdmin && e.Name.Local == "item" {
			out = append(out, e)
		}
	}
	return out
}

// A change is one validated item of an admin set.
type change struct {
	target *occupant // role change
	role   role
	bare   string // affiliation change
	aff    affiliation
	reason string
	isRole bool
}

// adminSet changes roles (kick, voice, moderator) and affiliations (ban,
// member, admin, owner). Every item is checked against the permission
// tables before any is applied, so a request applies whole or not at all.
func (svc *Service) adminSet(rm *Room, c *client, q *stanza.Element) error {
	items := adminItems(q)
	if len(items) == 0 {
		return c2s.BadRequest("no items")
	}
	a := rm.actorOf(c)
	var changes []change
	owners := rm.owners()
	for _, it := range items {
		ch := change{reason: it.ChildText(nsMUCAdmin, "reason")}
		switch {
		case it.Get("role") != "" && it.Get("affiliation") == "":
			r, ok := parseRole(it.Get("role"))
			if !ok {
				return c2s.BadRequest("unknown role")
			}
			t := rm.byNick[it.Get("nick")]
			if it.Get("nick") == "" {
				return c2s.BadRequest("a role change names the occupant by nick")
			}
			if t == nil {
				return c2s.ItemNotFound("no occupant with that nickname")
			}
			if err := roleAllowed(rm, a, t, r); err != nil {
				return err
			}
			ch.isRole, ch.target, ch.role = true, t, r
		case it.Get("affiliation") != "":
			af, ok := parseAffiliation(it.Get("affiliation"))
			if !ok {
				return c2s.BadRequest("unknown affiliation")
			}
			bare := ""
			if raw := it.Get("jid"); raw != "" {
				j, err := jid.Parse(raw)
				if err != nil {
					return c2s.JIDMalformed("invalid jid")
				}
				bare = j.Bare().String()
			} else if t := rm.byNick[it.Get("nick")]; t != nil {
				bare = t.bare
			} else {
				return c2s.BadRequest("an affiliation change names a jid or an occupant's nick")
			}
			cur := rm.affiliation(bare)
			switch {
			case a.aff < affAdmin:
				return c2s.Forbidden("only admins and owners may change affiliations")
			case af >= affAdmin && a.aff < affOwner:
				return c2s.Forbidden("only owners may grant admin or owner")
			case cur >= affAdmin && a.aff < affOwner:
				return c2s.NotAllowed("admins may not change the affiliation of an admin or owner")
			}
			if cur == affOwner && af != affOwner {
				owners--
				if owners < 1 {
					return c2s.Conflict("a room needs an owner")
				}
			}
			ch.bare, ch.aff = bare, af
		default:
			return c2s.BadRequest("an item needs a role or an affiliation")
		}
		changes = append(changes, ch)
	}
	affChanged := false
	for _, ch := range changes {
		actorX := func(_, item *stanza.Element) {
			if a.nick != "" {
				item.Append(stanza.New(nsMUCUser, "actor", "nick", a.nick))
			}
			if ch.reason != "" {
				item.Append(stanza.New(nsMUCUser, "reason").SetText(ch.reason))
			}
		}
		if ch.isRole {
			if rm.byJID[ch.target.jid.String()] != ch.target {
				continue // removed by an earlier item
			}
			if ch.role == roleNone {
				svc.remove(rm, ch.target, nil, actorX, 307)
				continue
			}
			ch.target.role = ch.role
			rm.broadcastPresence(svc, ch.target, "", actorX, nil, nil)
			continue
		}
		affChanged = true
		rm.setAffiliation(ch.bare, ch.aff)
		for _, o := range append([]*occupant(nil), rm.list...) {
			if o.bare != ch.bare {
				continue
			}
			switch {
			case ch.aff == affOutcast:
				svc.remove(rm, o, nil, actorX, 301)
			case rm.cfg.MembersOnly && ch.aff < affMember:
				svc.remove(rm, o, nil, actorX, 321)
			default:
				o.role = rm.defaultRole(ch.aff)
				rm.broadcastPresence(svc, o, "", actorX, nil, nil)
			}
		}
	}
	if affChanged {
		svc.persist(rm)
	}
	return nil
}

// roleAllowed applies XEP-0045's role tables (§5.1.3, §8.2–8.4, §9.6).
func roleAllowed(rm *Room, a actor, t *occupant, r role) error {
	if a.role != roleModerator {
		return c2s.Forbidden("only moderators may change roles")
	}
	taff := rm.affiliation(t.bare)
	switch {
	case r == roleModerator && a.aff < affAdmin:
		return c2s.Forbidden("only admins and owners may grant moderator")
	case t.role == roleModerator && r < roleModerator && a.aff < affAdmin:
		return c2s.NotAllowed("only admins and owners may revoke moderator")
	case r < t.role && taff >= affAdmin:
		return c2s.NotAllowed("admins and owners cannot be kicked or lose voice")
	case r < t.role && taff > a.aff:
		return c2s.NotAllowed("the occupant has a higher affiliation")
	}
	return nil
}
