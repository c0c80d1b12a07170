package muc

import (
	"slices"
	"strconv"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// Room configuration fields (XEP-0045 §15.5.3, muc#roomconfig).
const (
	fName          = "muc#roomconfig_roomname"
	fDesc          = "muc#roomconfig_roomdesc"
	fPersistent    = "muc#roomconfig_persistentroom"
	fPublic        = "muc#roomconfig_publicroom"
	fMembersOnly   = "muc#roomconfig_membersonly"
	fModerated     = "muc#roomconfig_moderatedroom"
	fPasswordProt  = "muc#roomconfig_passwordprotectedroom"
	fSecret        = "muc#roomconfig_roomsecret"
	fMaxUsers      = "muc#roomconfig_maxusers"
	fWhois         = "muc#roomconfig_whois"
	fChangeSubject = "muc#roomconfig_changesubject"
	fAllowInvites  = "muc#roomconfig_allowinvites"
	fAllowPM       = "muc#roomconfig_allowpm"
	fAdmins        = "muc#roomconfig_roomadmins"
	fOwners        = "muc#roomconfig_roomowners"
)

// ownerGet returns the configuration form (XEP-0045 §10.2).
func (svc *Service) ownerGet(rm *Room, c *client, q *stanza.Element) (*stanza.Element, error) {
	if rm.affiliation(c.jid.Bare().String()) != affOwner {
		return nil, c2s.Forbidden("only owners may configure the room")
	}
	return stanza.New(nsMUCOwner, "query").Append(svc.configForm(rm).x), nil
}

func (svc *Service) configForm(rm *Room) *formBuilder {
	cfg := rm.cfg
	whois := "moderators"
	if cfg.NonAnonymous {
		whois = "anyone"
	}
	maxUsers := "none"
	if cfg.MaxUsers > 0 {
		maxUsers = strconv.Itoa(cfg.MaxUsers)
	}
	var maxOpts []string
	for _, n := range []int{10, 20, 30, 50, 100, 200, 500, 1000} {
		if n < svc.cfg.maxOccupants() {
			maxOpts = append(maxOpts, strconv.Itoa(n), strconv.Itoa(n))
		}
	}
	maxOpts = append(maxOpts, "none", "service limit ("+strconv.Itoa(svc.cfg.maxOccupants())+")")
	var admins, owners []string
	for j, a := range rm.affs {
		switch a {
		case affAdmin:
			admins = append(admins, j)
		case affOwner:
			owners = append(owners, j)
		}
	}
	slices.Sort(admins)
	slices.Sort(owners)
	fb := newForm("form", "Configuration for "+rm.key, nsRoomConfig).
		field("text-single", fName, "Natural-language room name", []string{cfg.Name}).
		field("text-single", fDesc, "Short description of the room", []string{cfg.Description}).
		field("boolean", fPersistent, "Make room persistent", []string{formatBool(cfg.Persistent)}).
		field("boolean", fPublic, "Make room publicly searchable", []string{formatBool(cfg.Public)}).
		field("boolean", fMembersOnly, "Make room members-only", []string{formatBool(cfg.MembersOnly)}).
		field("boolean", fModerated, "Make room moderated", []string{formatBool(cfg.Moderated)}).
		field("boolean", fPasswordProt, "Password required to enter", []string{formatBool(cfg.PasswordProtected)}).
		field("text-private", fSecret, "Password", []string{cfg.Password}).
		field("list-single", fMaxUsers, "Maximum number of occupants", []string{maxUsers}, maxOpts...).
		field("list-single", fWhois, "Who may discover real JIDs", []string{whois},
			"moderators", "Moderators only", "anyone", "Anyone").
		field("boolean", fChangeSubject, "Allow occupants to change the subject", []string{formatBool(cfg.ChangeSubject)}).
		field("boolean", fAllowInvites, "Allow members to invite others", []string{formatBool(cfg.AllowInvites)}).
		field("list-single", fAllowPM, "Who may send private messages", []string{cfg.AllowPM},
			"anyone", "Anyone", "participants", "Participants", "moderators", "Moderators", "none", "Nobody").
		field("jid-multi", fAdmins, "Room admins", admins).
		field("jid-multi", fOwners, "Room owners", owners)
	return fb
}

// ownerSet submits or cancels the configuration form, or destroys the
// room (XEP-0045 §10.1–10.2, §10.9).
func (svc *Service) ownerSet(rm *Room, c *client, q *stanza.Element) error {
	if rm.affiliation(c.jid.Bare().String()) != affOwner {
		return c2s.Forbidden("only owners may configure or destroy the room")
	}
	if d := q.Child(nsMUCOwner, "destroy"); d != nil {
		return svc.destroy(rm, d)
	}
	f := dataForm(q)
	if f == nil {
		return c2s.BadRequest("expected a data form or <destroy/>")
	}
	switch f.typ() {
	case "cancel":
		if rm.locked {
			svc.destroy(rm, nil)
		}
		return nil
	case "submit":
	default:
		return c2s.BadRequest("a configuration form is submitted or cancelled")
	}
	if ft := f.formType(); ft != "" && ft != nsRoomConfig {
		return c2s.BadRequest("FORM_TYPE is not " + nsRoomConfig)
	}
	cfg, affs, err := svc.applyForm(rm, f)
	if err != nil {
		return err
	}
	old := rm.cfg
	wasLocked := rm.locked
	rm.cfg = cfg
	rm.affs = affs
	rm.locked = false
	// Occupants whose affiliation changed get their new presence.
	for _, o := range append([]*occupant(nil), rm.list...) {
		aff := rm.affiliation(o.bare)
		if cfg.MembersOnly && aff < affMember {
			svc.remove(rm, o, nil, nil, 322)
			continue
		}
		if r := rm.defaultRole(aff); (aff >= affAdmin && o.role != roleModerator) || (aff < affAdmin && o.role == roleModerator && r != roleModerator) {
			o.role = r
			rm.broadcastPresence(svc, o, "", nil, nil, nil)
		}
	}
	if !wasLocked {
		codes := []int{104}
		if cfg.NonAnonymous && !old.NonAnonymous {
			codes = append(codes, 172)
		} else if !cfg.NonAnonymous && old.NonAnonymous {
			codes = append(codes, 173)
		}
		rm.sendToAll(svc, rm.statusMessage(codes...))
	}
	if old.Persistent && !cfg.Persistent {
		svc.unpersist(rm)
	}
	svc.persist(rm)
	svc.discardIfEmpty(rm)
	return nil
}

// applyForm returns the configuration and affiliations a submitted form
// asks for, or not-acceptable naming the field that is wrong.
func (svc *Service) applyForm(rm *Room, f *form) (roomConfig, map[string]affiliation, error) {
	cfg := rm.cfg
	bad := func(field, why string) error { return c2s.NotAcceptable(field + ": " + why) }
	text := map[string]*string{fName: &cfg.Name, fDesc: &cfg.Description, fSecret: &cfg.Password}
	for k, dst := range text {
		if v, ok := f.value(k); ok {
			*dst = v
		}
	}
	bools := map[string]*bool{
		fPersistent: &cfg.Persistent, fPublic: &cfg.Public, fMembersOnly: &cfg.MembersOnly,
		fModerated: &cfg.Moderated, fPasswordProt: &cfg.PasswordProtected,
		fChangeSubject: &cfg.ChangeSubject, fAllowInvites: &cfg.AllowInvites,
	}
	for k, dst := range bools {
		if v, ok := f.value(k); ok {
			b, valid := parseBool(v)
			if !valid {
				return cfg, nil, bad(k, "not a boolean")
			}
			*dst = b
		}
	}
	if v, ok := f.value(fMaxUsers); ok {
		switch n, err := strconv.Atoi(v); {
		case v == "none" || v == "" || v == "0":
			cfg.MaxUsers = 0
		case err != nil || n < 1:
			return cfg, nil, bad(fMaxUsers, "not a positive number")
		case n > svc.cfg.maxOccupants():
			return cfg, nil, bad(fMaxUsers, "above the service limit of "+strconv.Itoa(svc.cfg.maxOccupants()))
		default:
			cfg.MaxUsers = n
		}
	}
	if v, ok := f.value(fWhois); ok {
		switch v {
		case "moderators":
			cfg.NonAnonymous = false
		case "anyone":
			cfg.NonAnonymous = true
		default:
			return cfg, nil, bad(fWhois, "moderators or anyone")
		}
	}
	if v, ok := f.value(fAllowPM); ok {
		switch v {
		case "anyone", "participants", "moderators", "none":
			cfg.AllowPM = v
		default:
			return cfg, nil, bad(fAllowPM, "anyone, participants, moderators or none")
		}
	}
	if cfg.PasswordProtected && cfg.Password == "" {
		return cfg, nil, bad(fSecret, "a password-protected room needs a password")
	}
	if !cfg.PasswordProtected {
		cfg.Password = ""
	}
	if cfg.Persistent && svc.store == nil {
		return cfg, nil, bad(fPersistent, "this service keeps no persistent rooms")
	}
	affs := make(map[string]affiliation, len(rm.affs))
	for k, v := range rm.affs {
		affs[k] = v
	}
	for _, fl := range []struct {
		field string
		aff   affiliation
	}{{fOwners, affOwner}, {fAdmins, affAdmin}} {
		vs, ok := f.values(fl.field)
		if !ok {
			continue
		}
		want := map[string]bool{}
		for _, v := range vs {
			j, err := jid.Parse(v)
			if err != nil {
				return cfg, nil, bad(fl.field, "invalid JID "+strconv.Quote(v))
			}
			want[j.Bare().String()] = true
		}
		for k, a := range affs {
			if a == fl.aff && !want[k] {
				delete(affs, k)
			}
		}
		for k := range want {
			affs[k] = fl.aff
		}
	}
	owners := 0
	for _, a := range affs {
		if a == affOwner {
			owners++
		}
	}
	if owners == 0 {
		return cfg, nil, c2s.Conflict("a room needs an owner")
	}
	return cfg, affs, nil
}

// destroy removes every occupant with the <destroy/> notice and its
// alternate venue, forgets the room and its stored state (XEP-0045 §10.9).
func (svc *Service) destroy(rm *Room, d *stanza.Element) error {
	notice := stanza.New(nsMUCUser, "destroy")
	if d != nil {
		if alt := d.Get("jid"); alt != "" {
			j, err := jid.Parse(alt)
			if err != nil {
				return c2s.JIDMalformed("invalid alternate venue")
			}
			notice.Set("jid", j.String())
		}
		if r := d.ChildText(nsMUCOwner, "reason"); r != "" {
			notice.Append(stanza.New(nsMUCUser, "reason").SetText(r))
		}
		if p := d.ChildText(nsMUCOwner, "password"); p != "" {
			notice.Append(stanza.New(nsMUCUser, "password").SetText(p))
		}
	}
	for _, o := range append([]*occupant(nil), rm.list...) {
		rm.removeOccupant(o)
		svc.m.occupants.Dec()
		svc.users.add(o.bare, -1, 0)
		if o.mem != nil {
			o.mem.remove(rm.key)
		}
		p := stanza.New(stanza.NSClient, "presence", "type", "unavailable", "from", rm.occupantJID(o.nick), "to", o.jid.String()).
			Append(stanza.New(nsMUCUser, "x").Append(
				stanza.New(nsMUCUser, "item", "affiliation", "none", "role", "none"),
				notice))
		svc.deliver(o, p)
	}
	if rm.cfg.Persistent {
		svc.unpersist(rm)
	}
	svc.discard(rm)
	return nil
}
