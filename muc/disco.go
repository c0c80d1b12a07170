package muc

import (
	"strconv"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/mam"
	"github.com/xmppd/xmppd/stanza"
)

// serviceInfo answers disco#info of the service (XEP-0045 §6.1).
func (svc *Service) serviceInfo(q *stanza.Element) (*stanza.Element, error) {
	if q.Get("node") != "" {
		return nil, c2s.ItemNotFound("unknown node")
	}
	r := stanza.New(nsDiscoInfo, "query")
	r.Append(stanza.New(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", "Chatrooms"))
	for _, f := range []string{nsDiscoInfo, nsDiscoItems, nsMUC, nsPing} {
		r.Append(stanza.New(nsDiscoInfo, "feature", "var", f))
	}
	return r, nil
}

// serviceItems lists the public rooms (XEP-0045 §6.3); locked rooms are
// not listed.
func (svc *Service) serviceItems(q *stanza.Element) (*stanza.Element, error) {
	if q.Get("node") != "" {
		return nil, c2s.ItemNotFound("unknown node")
	}
	r := stanza.New(nsDiscoItems, "query")
	for _, rm := range svc.rooms.all() {
		rm.mu.Lock()
		if !rm.gone && !rm.fresh && !rm.locked && rm.cfg.Public {
			r.Append(stanza.New(nsDiscoItems, "item", "jid", rm.key, "name", rm.displayName()))
		}
		rm.mu.Unlock()
	}
	return r, nil
}

func (rm *Room) displayName() string {
	if rm.cfg.Name != "" {
		return rm.cfg.Name
	}
	return rm.jid.Localpart()
}

// roomFeatures are the muc_* features describing the room's
// configuration (XEP-0045 §6.4, §15.2.2).
func (rm *Room) roomFeatures() []string {
	pick := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	return []string{
		nsMUC,
		pick(rm.cfg.Public, "muc_public", "muc_hidden"),
		pick(rm.cfg.Persistent, "muc_persistent", "muc_temporary"),
		pick(rm.cfg.MembersOnly, "muc_membersonly", "muc_open"),
		pick(rm.cfg.Moderated, "muc_moderated", "muc_unmoderated"),
		pick(rm.cfg.NonAnonymous, "muc_nonanonymous", "muc_semianonymous"),
		pick(rm.cfg.PasswordProtected, "muc_passwordprotected", "muc_unsecured"),
	}
}

// roomInfo answers disco#info of a room: identity, features and the
// muc#roominfo form. A locked room exists only for its owners.
func (svc *Service) roomInfo(rm *Room, c *client, q *stanza.Element) (*stanza.Element, error) {
	if q.Get("node") != "" {
		return nil, c2s.ItemNotFound("unknown node")
	}
	if (rm.locked || rm.fresh) && rm.affiliation(c.jid.Bare().String()) != affOwner {
		return nil, c2s.ItemNotFound("no such room")
	}
	r := stanza.New(nsDiscoInfo, "query")
	r.Append(stanza.New(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", rm.displayName()))
	for _, f := range rm.roomFeatures() {
		r.Append(stanza.New(nsDiscoInfo, "feature", "var", f))
	}
	if svc.archive != nil {
		r.Append(stanza.New(nsDiscoInfo, "feature", "var", mam.NS), stanza.New(nsDiscoInfo, "feature", "var", mam.NSSID))
	}
	fb := newForm("result", "", nsRoomInfo).
		field("text-single", "muc#roominfo_description", "Description", []string{rm.cfg.Description}).
		field("text-single", "muc#roominfo_subject", "Subject", []string{rm.subject}).
		field("text-single", "muc#roominfo_occupants", "Number of occupants", []string{strconv.Itoa(len(rm.list))}).
		field("boolean", "muc#roominfo_changesubject", "Occupants may change the subject", []string{formatBool(rm.cfg.ChangeSubject)})
	r.Append(fb.x)
	return r, nil
}

// roomItems answers disco#items of a room with no items: occupants are not
// listed, so that semi-anonymous rooms stay so.
func (svc *Service) roomItems(rm *Room, c *client, q *stanza.Element) (*stanza.Element, error) {
	if (rm.locked || rm.fresh) && rm.affiliation(c.jid.Bare().String()) != affOwner {
		return nil, c2s.ItemNotFound("no such room")
	}
	return stanza.New(nsDiscoItems, "query"), nil
}
