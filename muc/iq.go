package muc

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/stanza"
)

// handleIQ serves requests to the service, to rooms and to occupants.
func (svc *Service) handleIQ(ctx context.Context, c *client, st *stanza.Element, to jid.JID) error {
	payloads := st.Elements()
	if len(payloads) != 1 {
		return c2s.BadRequest("an IQ request needs exactly one payload")
	}
	q := payloads[0]
	get := st.Get("type") == "get"
	var res *stanza.Element
	var err error
	switch {
	case to.Localpart() == "":
		res, err = svc.serviceIQ(q, get)
	default:
		rm := svc.lookup(to.Bare().String())
		if rm == nil {
			return c2s.ItemNotFound("no such room")
		}
		forwarded := false
		if to.Resourcepart() != "" {
			res, forwarded, err = svc.occupantIQ(rm, c, st, q, to.Resourcepart())
		} else if q.Name.Space == mam.NS && q.Name.Local == "query" {
			res, err = svc.archiveQuery(ctx, rm, c, st, q, get)
		} else {
			res, err = svc.roomIQ(rm, c, q, get)
		}
		rm.mu.Unlock()
		if forwarded && err == nil {
			return nil // the occupant answers
		}
	}
	if err != nil {
		return err
	}
	r := stanza.New(stanza.NSClient, "iq", "type", "result", "id", st.Get("id"), "from", st.Get("to"), "to", c.jid.String())
	if res != nil {
		r.Append(res)
	}
	c.reply(svc, r)
	return nil
}

func (svc *Service) serviceIQ(q *stanza.Element, get bool) (*stanza.Element, error) {
	switch {
	case q.Name.Space == nsDiscoInfo && q.Name.Local == "query" && get:
		return svc.serviceInfo(q)
	case q.Name.Space == nsDiscoItems && q.Name.Local == "query" && get:
		return svc.serviceItems(q)
	case q.Name.Space == nsPing && get:
		return nil, nil
	}
	return nil, c2s.ServiceUnavailable("")
}

func (svc *Service) roomIQ(rm *Room, c *client, q *stanza.Element, get bool) (*stanza.Element, error) {
	switch {
	case q.Name.Space == nsDiscoInfo && q.Name.Local == "query" && get:
		return svc.roomInfo(rm, c, q)
	case q.Name.Space == nsDiscoItems && q.Name.Local == "query" && get:
		return svc.roomItems(rm, c, q)
	case q.Name.Space == nsMUCAdmin && q.Name.Local == "query":
		if get {
			return svc.adminGet(rm, c, q)
		}
		return nil, svc.adminSet(rm, c, q)
	case q.Name.Space == nsMUCOwner && q.Name.Local == "query":
		if get {
			return svc.ownerGet(rm, c, q)
		}
		return nil, svc.ownerSet(rm, c, q)
	case q.Name.Space == nsPing && get:
		return nil, nil
	}
	return nil, c2s.ServiceUnavailable("")
}

// occupantIQ answers XEP-0410 self-pings and passes other requests on to
// the occupant addressed (forwarded is then true and nothing is answered
// here).
func (svc *Service) occupantIQ(rm *Room, c *client, st, q *stanza.Element, nick string) (res *stanza.Element, forwarded bool, err error) {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return nil, false, &c2s.StanzaError{Type: c2s.Cancel, Condition: c2s.CondNotAcceptable, Text: "you are not in this room"}
	}
	if o.nick == nick && q.Name.Space == nsPing {
		return nil, false, nil
	}
	if err := svc.forwardIQ(rm, o, st, nick); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// archiveQuery answers urn:xmpp:mam:2 queries on the room's archive
// (XEP-0313 §5.1.2): in members-only or hidden rooms only occupants may
// query; outcasts never may. Results come from the room.
func (svc *Service) archiveQuery(ctx context.Context, rm *Room, c *client, st, q *stanza.Element, get bool) (*stanza.Element, error) {
	if svc.archive == nil {
		return nil, c2s.ServiceUnavailable("rooms here keep no archive")
	}
	if (rm.locked || rm.fresh) && rm.affiliation(c.jid.Bare().String()) != affOwner {
		return nil, c2s.ItemNotFound("no such room")
	}
	if rm.affiliation(c.jid.Bare().String()) == affOutcast {
		return nil, c2s.Forbidden("you are banned from this room")
	}
	if (rm.cfg.MembersOnly || !rm.cfg.Public) && rm.byJID[c.jid.String()] == nil {
		return nil, c2s.Forbidden("only occupants may read this room's archive")
	}
	if get {
		return mam.QueryForm(), nil
	}
	send := func(m *stanza.Element) error {
		c.reply(svc, m)
		return nil
	}
	return svc.archive.Query(ctx, rm.jid, c.jid, st.Get("id"), q, send)
}
