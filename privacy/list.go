package privacy

import (
	"slices"
	"strconv"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// Namespaces and features.
const (
	nsPrivacy       = "jabber:iq:privacy"
	nsBlocking      = "urn:xmpp:blocking"
	nsBlockingError = "urn:xmpp:blocking:errors"
	// FeatureIncremental is the disco feature of <add/> and <remove/>
	// inside the privacy query (DESIGN.md).
	FeatureIncremental = "urn:xmppd:privacy-incremental:0"
	// Kind is the storage kind of privacy documents.
	Kind = "privacy"
	// BlocklistName is the list the blocking command creates (and makes
	// the default) when the user has no default list, as ejabberd does.
	BlocklistName = "Blocked contacts"
)

// A Kinds set says which stanzas an item applies to: the <message/>,
// <iq/>, <presence-in/> and <presence-out/> children of an item. The empty
// set means every stanza, both directions (XEP-0016 §2.12).
type Kinds uint8

// Stanza kinds. Evaluating with kind 0 asks about a stanza no child names
// (an outbound message, a subscription request): only items with no
// children apply to it.
const (
	KindMessage Kinds = 1 << iota
	KindIQ
	KindPresenceIn
	KindPresenceOut
)

var kindNames = [...]struct {
	k    Kinds
	name string
}{{KindMessage, "message"}, {KindIQ, "iq"}, {KindPresenceIn, "presence-in"}, {KindPresenceOut, "presence-out"}}

// applies reports whether an item with kinds k applies to a stanza of kind.
func (k Kinds) applies(kind Kinds) bool { return k == 0 || k&kind != 0 }

// Item types.
const (
	TypeAll          = "" // fall-through: matches everyone
	TypeJID          = "jid"
	TypeGroup        = "group"
	TypeSubscription = "subscription"
)

// An Item is one rule of a privacy list (XEP-0016 §2.1). Value is
// normalised for jid items; empty for fall-through items.
type Item struct {
	Type  string
	Value string
	Deny  bool
	Order uint32
	Kinds Kinds
}

// blocks reports whether it is an item the blocking command manages: a
// jid item denying everything (XEP-0191 §3).
func (it Item) blocks() bool { return it.Type == TypeJID && it.Deny && it.Kinds == 0 }

// element returns the <item/> of it.
func (it Item) element() *stanza.Element {
	action := "allow"
	if it.Deny {
		action = "deny"
	}
	el := stanza.New(nsPrivacy, "item", "type", it.Type, "value", it.Value, "action", action,
		"order", strconv.FormatUint(uint64(it.Order), 10))
	for _, kn := range kindNames {
		if it.Kinds&kn.k != 0 {
			el.Append(stanza.New(nsPrivacy, kn.name))
		}
	}
	return el
}

// parseItem reads an <item/> of a list or of an <add/>. Malformed items
// are bad-request (XEP-0016 §2.1, DESIGN.md).
func parseItem(el *stanza.Element) (Item, error) {
	if el.Name.Space != nsPrivacy || el.Name.Local != "item" {
		return Item{}, c2s.BadRequest("a list holds only <item/> elements")
	}
	var it Item
	typ, value := el.Get("type"), el.Get("value")
	switch typ {
	case TypeAll:
		if value != "" {
			return Item{}, c2s.BadRequest("a 'value' needs a 'type'")
		}
	case TypeJID:
		j, err := jid.Parse(value)
		if err != nil || value == "" {
			return Item{}, c2s.BadRequest("the 'value' of a jid item must be a JID")
		}
		value = j.String()
	case TypeGroup:
		if value == "" {
			return Item{}, c2s.BadRequest("a group item needs a 'value'")
		}
	case TypeSubscription:
		switch value {
		case "both", "to", "from", "none":
		default:
			return Item{}, c2s.BadRequest("a subscription item's value is both, to, from or none")
		}
	default:
		return Item{}, c2s.BadRequest("unknown item type")
	}
	it.Type, it.Value = typ, value
	switch el.Get("action") {
	case "allow":
	case "deny":
		it.Deny = true
	default:
		return Item{}, c2s.BadRequest("an item's 'action' is allow or deny")
	}
	order, err := parseOrder(el.Get("order"))
	if err != nil {
		return Item{}, err
	}
	it.Order = order
	for _, c := range el.Elements() {
		k := kindByName(c)
		if k == 0 || it.Kinds&k != 0 {
			return Item{}, c2s.BadRequest("an item's children are <message/>, <iq/>, <presence-in/> and <presence-out/>, each at most once")
		}
		it.Kinds |= k
	}
	return it, nil
}

// parseOrder reads an 'order': an unsigned 32-bit decimal, required.
func parseOrder(s string) (uint32, error) {
	if s == "" {
		return 0, c2s.BadRequest("an item needs an 'order'")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, c2s.BadRequest("an item's 'order' is a non-negative integer")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, c2s.BadRequest("an item's 'order' is out of range")
	}
	return uint32(n), nil
}

func kindByName(c *stanza.Element) Kinds {
	if c.Name.Space != nsPrivacy || len(c.Elements()) > 0 {
		return 0
	}
	for _, kn := range kindNames {
		if c.Name.Local == kn.name {
			return kn.k
		}
	}
	return 0
}

// parseList reads the items of a <list/>: each well formed, orders
// unique. It returns them sorted by order.
func parseList(list *stanza.Element) ([]Item, error) {
	var items []Item
	seen := map[uint32]bool{}
	for _, el := range list.Elements() {
		it, err := parseItem(el)
		if err != nil {
			return nil, err
		}
		if seen[it.Order] {
			return nil, c2s.BadRequest("two items of one list have the same 'order'")
		}
		seen[it.Order] = true
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b Item) int { return cmpOrder(a.Order, b.Order) })
	return items, nil
}

func cmpOrder(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// A removal selects the items an incremental <remove/> deletes: every
// item whose value is Value and, when Type is set, whose type is Type.
// Without a type, jid items are compared with the normalised value (JID)
// and group and subscription items with the value as given (Value).
type removal struct{ Type, Value, JID string }

// parseRemoval reads an <item/> of a <remove/>.
func parseRemoval(el *stanza.Element) (removal, error) {
	if el.Name.Space != nsPrivacy || el.Name.Local != "item" {
		return removal{}, c2s.BadRequest("<remove/> holds only <item/> elements")
	}
	r := removal{Type: el.Get("type"), Value: el.Get("value")}
	if r.Value == "" {
		return removal{}, c2s.BadRequest("an item to remove needs a 'value'")
	}
	switch r.Type {
	case "", TypeGroup, TypeSubscription:
	case TypeJID:
		j, err := jid.Parse(r.Value)
		if err != nil {
			return removal{}, c2s.BadRequest("the 'value' of a jid item must be a JID")
		}
		r.Value = j.String()
	default:
		return removal{}, c2s.BadRequest("unknown item type")
	}
	if r.Type == "" {
		if j, err := jid.Parse(r.Value); err == nil {
			r.JID = j.String()
		}
	}
	return r, nil
}
