package muc

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// Namespaces of XEP-0045 and the XEPs it uses.
const (
	nsMUC        = "http://jabber.org/protocol/muc"
	nsMUCUser    = "http://jabber.org/protocol/muc#user"
	nsMUCAdmin   = "http://jabber.org/protocol/muc#admin"
	nsMUCOwner   = "http://jabber.org/protocol/muc#owner"
	nsRoomConfig = "http://jabber.org/protocol/muc#roomconfig"
	nsRoomInfo   = "http://jabber.org/protocol/muc#roominfo"
	nsRequest    = "http://jabber.org/protocol/muc#request"
	nsData       = "jabber:x:data"
	nsDelay      = "urn:xmpp:delay"
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsPing       = "urn:xmpp:ping"
)

// A role is an occupant's role in the room (XEP-0045 §5.1), ordered by
// privilege.
type role uint8

const (
	roleNone role = iota
	roleVisitor
	roleParticipant
	roleModerator
)

var roleNames = [...]string{"none", "visitor", "participant", "moderator"}

func (r role) String() string { return roleNames[r] }

func parseRole(s string) (role, bool) {
	for i, n := range roleNames {
		if n == s {
			return role(i), true
		}
	}
	return 0, false
}

// An affiliation is a user's long-lived standing with the room (XEP-0045
// §5.2), ordered by privilege.
type affiliation uint8

const (
	affOutcast affiliation = iota
	affNone
	affMember
	affAdmin
	affOwner
)

var affNames = [...]string{"outcast", "none", "member", "admin", "owner"}

func (a affiliation) String() string { return affNames[a] }

func parseAffiliation(s string) (affiliation, bool) {
	for i, n := range affNames {
		if n == s {
			return affiliation(i), true
		}
	}
	return 0, false
}

// roomConfig is what an owner configures (muc#roomconfig).
type roomConfig struct {
	Name              string `json:"name,omitempty"`
	Description       string `json:"description,omitempty"`
	Persistent        bool   `json:"persistent,omitempty"`
	Public            bool   `json:"public,omitempty"`
	MembersOnly       bool   `json:"members_only,omitempty"`
	Moderated         bool   `json:"moderated,omitempty"`
	PasswordProtected bool   `json:"password_protected,omitempty"`
	Password          string `json:"password,omitempty"`
	MaxUsers          int    `json:"max_users,omitempty"` // 0: the service cap
	NonAnonymous      bool   `json:"non_anonymous,omitempty"`
	ChangeSubject     bool   `json:"change_subject,omitempty"` // participants may change the subject
	AllowInvites      bool   `json:"allow_invites,omitempty"`  // members may invite in members-only rooms
	AllowPM           string `json:"allow_pm,omitempty"`       // anyone, participants, moderators, none
}

func defaultRoomConfig() roomConfig {
	return roomConfig{Public: true, ChangeSubject: true, AllowPM: "anyone"}
}

// An occupant is one user in the room under a nick, from one full JID.
type occupant struct {
	nick    string
	jid     jid.JID // full
	full    string  // jid.String(), cached: fan-out addresses every copy
	bare    string
	res     c2s.Resource
	role    role
	pres    *stanza.Element // the occupant's last presence to the room
	limiter *rate.Limiter
	mem     *memberships
}

// A historyItem is one groupchat message kept for history on join, stored
// ready to send (from room/nick, with its XEP-0203 delay).
type historyItem struct {
	at    time.Time
	msg   *stanza.Element
	chars int // length of the encoded stanza (maxchars); -1 until a join asks
}

// A Room is one chat room. Its lock guards everything below it; the
// sending session holds it while it fans a stanza out, so every occupant
// sees the room's stanzas in one order.
type Room struct {
	jid jid.JID // bare
	key string  // jid.String()

	mu     sync.Mutex
	gone   bool // removed from the registry: look it up again
	fresh  bool // created, nobody joined yet: the first joiner owns it
	locked bool // XEP-0045 §10.1: not open until configured
	cfg    roomConfig
	affs   map[string]affiliation // bare JID → affiliation other than none
	list   []*occupant            // in join order
	byNick map[string]*occupant
	byJID  map[string]*occupant // full JID → occupant

	history     []historyItem // oldest first, at most the service's length
	subject     string
	subjectFrom string // nick that set it; "" for the room
	hasSubject  bool
}

func newRoom(j jid.JID) *Room {
	return &Room{
		jid:    j,
		key:    j.String(),
		cfg:    defaultRoomConfig(),
		affs:   map[string]affiliation{},
		byNick: map[string]*occupant{},
		byJID:  map[string]*occupant{},
	}
}

func (rm *Room) affiliation(bare string) affiliation {
	if a, ok := rm.affs[bare]; ok {
		return a
	}
	return affNone
}

func (rm *Room) setAffiliation(bare string, a affiliation) {
	if a == affNone {
		delete(rm.affs, bare)
	} else {
		rm.affs[bare] = a
	}
}

// defaultRole is the role an occupant with affiliation a gets on entering.
func (rm *Room) defaultRole(a affiliation) role {
	switch {
	case a >= affAdmin:
		return roleModerator
	case a == affMember:
		return roleParticipant
	case a == affNone && !rm.cfg.Moderated:
		return roleParticipant
	case a == affNone:
		return roleVisitor
	}
	return roleNone
}

func (rm *Room) owners() int {
	n := 0
	for _, a := range rm.affs {
		if a == affOwner {
			n++
		}
	}
	return n
}

func (rm *Room) occupantJID(nick string) string { return rm.key + "/" + nick }

func (rm *Room) addOccupant(o *occupant) {
	rm.list = append(rm.list, o)
	rm.byNick[o.nick] = o
	rm.byJID[o.jid.String()] = o
}

func (rm *Room) removeOccupant(o *occupant) {
	delete(rm.byNick, o.nick)
	delete(rm.byJID, o.jid.String())
	for i, x := range rm.list {
		if x == o {
			rm.list = append(rm.list[:i:i], rm.list[i+1:]...)
			break
		}
	}
}

// presenceOf builds o's presence as the room shows it to occupant to (nil
// for someone outside the room): from room/nick, o's own payload, and the
// muc#user item — with o's real JID when to may see it (a moderator in a
// semi-anonymous room, anyone in a non-anonymous one) — and status codes.
func (rm *Room) presenceOf(o *occupant, to jid.JID, toRole role, typ string, x func(x, item *stanza.Element), codes ...int) *stanza.Element {
	p := stanza.New(stanza.NSClient, "presence", "from", rm.occupantJID(o.nick), "to", to.String())
	if typ != "" {
		p.Set("type", typ)
	}
	if o.pres != nil {
		for _, n := range o.pres.Children {
			if c := n.Elem; c != nil && (c.Name.Space == nsMUC || c.Name.Space == nsMUCUser) {
				continue
			}
			if n.Elem != nil {
				p.Children = append(p.Children, n)
			}
		}
	}
	xe := stanza.New(nsMUCUser, "x")
	item := stanza.New(nsMUCUser, "item", "affiliation", rm.affiliation(o.bare).String(), "role", o.role.String())
	if rm.cfg.NonAnonymous || toRole == roleModerator {
		item.Set("jid", o.jid.String())
	}
	xe.Append(item)
	if x != nil {
		x(xe, item)
	}
	for _, c := range codes {
		xe.Append(stanza.New(nsMUCUser, "status", "code", strconv.Itoa(c)))
	}
	return p.Append(xe)
}

// broadcastPresence sends o's presence to every occupant, o last with 110
// and selfCodes added. x, when set, adds to the muc#user element.
func (rm *Room) broadcastPresence(svc *Service, o *occupant, typ string, x func(x, item *stanza.Element), codes []int, selfCodes []int) {
	for _, to := range rm.list {
		if to == o {
			continue
		}
		svc.deliver(to, rm.presenceOf(o, to.jid, to.role, typ, x, codes...))
	}
	self := append(append([]int{}, codes...), selfCodes...)
	self = append(self, 110)
	svc.deliver(o, rm.presenceOf(o, o.jid, o.role, typ, x, self...))
}

// sendToAll sends a copy of msg, addressed to each occupant, to everyone.
// Each copy is its own element and attribute slice sharing msg's
// children: a recipient may hold its copy long after the others are
// written (unacknowledged under XEP-0198, held under CSI), so copies are
// not allocated in blocks that one held copy would keep alive.
func (rm *Room) sendToAll(svc *Service, msg *stanza.Element) {
	for _, o := range rm.list {
		c := msg.ShallowCopy()
		c.Set("to", o.full)
		svc.deliver(o, c)
	}
}

// statusMessage builds a message from the room carrying status codes
// (config changes, 104 and 172/173).
func (rm *Room) statusMessage(codes ...int) *stanza.Element {
	xe := stanza.New(nsMUCUser, "x")
	for _, c := range codes {
		xe.Append(stanza.New(nsMUCUser, "status", "code", strconv.Itoa(c)))
	}
	return stanza.New(stanza.NSClient, "message", "type", "groupchat", "from", rm.key).Append(xe)
}

// subjectMessage is the message that carries the current subject; an
// empty subject from the room when none was set (XEP-0045 §7.2.15).
func (rm *Room) subjectMessage() *stanza.Element {
	from := rm.key
	if rm.subjectFrom != "" {
		from = rm.occupantJID(rm.subjectFrom)
	}
	return stanza.New(stanza.NSClient, "message", "type", "groupchat", "from", from).
		Append(stanza.New(stanza.NSClient, "subject").SetText(rm.subject))
}

// maxUsers is the occupant cap of the room.
func (rm *Room) maxUsers(svc *Service) int {
	max := svc.cfg.maxOccupants()
	if rm.cfg.MaxUsers > 0 && rm.cfg.MaxUsers < max {
		max = rm.cfg.MaxUsers
	}
	return max
}
