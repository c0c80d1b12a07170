package muc

import (
	"context"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
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
		if to.Resourcepart() != "" {
			res, err = svc.occupantIQ(rm, c, q, to.Resourcepart())
		} else {
			res, err = svc.roomIQ(rm, c, q, get)
		}
		rm.mu.Unlock()
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

// occupantIQ answers XEP-0410 self-pings; the service does not pass other
// requests between occupants.
func (svc *Service) occupantIQ(rm *Room, c *client, q *stanza.Element, nick string) (*stanza.Element, error) {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return nil, &c2s.StanzaError{Type: c2s.Cancel, Condition: c2s.CondNotAcceptable, Text: "you are not in this room"}
	}
	if o.nick == nick && q.Name.Space == nsPing {
		return nil, nil
	}
	if rm.byNick[nick] == nil {
		return nil, c2s.ItemNotFound("no occupant with that nickname")
	}
	return nil, c2s.FeatureNotImplemented("requests to occupants are not passed on")
}
