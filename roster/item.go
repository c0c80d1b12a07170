package roster

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// Field names of a contact element in the roster document. The element
// key is the contact's bare JID.
const (
	fListed        = "listed"   // "1" while the contact is on the roster the owner sees
	fName          = "name"     // handle the owner chose
	fGroups        = "groups"   // sorted group names joined with NUL (XML text holds no NUL)
	fSub           = "sub"      // none, to, from, both
	fAsk           = "ask"      // "subscribe" while the owner's request is pending
	fPendingIn     = "pin"      // "1" while the contact's request is pending
	fPendingStatus = "pinstat"  // the <status/> of that request, redelivered with it
	fApproved      = "approved" // "1": pre-approved (§3.4)
	fNote          = "note"     // sealed note (see NoteSealer)
	fMod           = "mod"      // HLC timestamp of the last visible change (XEP-0237)

	// tombPrefix keys the tombstone of a removed contact ("removed:" + bare
	// JID); it holds fMod so that versioned clients learn of the removal.
	// No JID starts with it: ':' is excluded from localparts and domains.
	tombPrefix = "removed:"
	// docHorizon is the newest modification time of a tombstone pruned
	// from the document: a client version older than it gets a full roster.
	docHorizon = "horizon"
)

// An Item is one contact as stored: the roster item the owner sees (when
// Listed) and the subscription state, which also exists for contacts that
// only sent a request.
type Item struct {
	JID           string // bare, normalised
	Listed        bool
	Name          string
	Groups        []string // sorted, distinct
	State         State
	PendingStatus string
	Note          []byte // sealed; nil when there is none
	Mod           crdt.Timestamp
}

// empty reports whether the item holds nothing worth storing.
func (it *Item) empty() bool {
	return !it.Listed && !it.State.PendingIn && !it.State.Approved && !it.State.To &&
		!it.State.From && !it.State.PendingOut
}

// readItem returns the contact jid of doc, and false when absent.
func readItem(doc *crdt.Doc, jid string) (Item, bool) {
	f, ok := doc.Get(jid)
	if !ok {
		return Item{JID: jid}, false
	}
	it := Item{
		JID:           jid,
		Listed:        string(f[fListed]) == "1",
		Name:          string(f[fName]),
		PendingStatus: string(f[fPendingStatus]),
		Mod:           decodeTS(f[fMod]),
	}
	if g := f[fGroups]; len(g) > 0 {
		it.Groups = strings.Split(string(g), "\x00")
	}
	it.State.parseSubscription(string(f[fSub]))
	it.State.PendingOut = string(f[fAsk]) == "subscribe"
	it.State.PendingIn = string(f[fPendingIn]) == "1"
	it.State.Approved = string(f[fApproved]) == "1"
	if n := f[fNote]; len(n) > 0 {
		it.Note = slices.Clone(n)
	}
	return it, true
}

// fields returns the stored form of it.
func (it *Item) fields() map[string][]byte {
	flag := func(b bool) []byte {
		if b {
			return []byte("1")
		}
		return nil
	}
	ask := ""
	if it.State.PendingOut {
		ask = "subscribe"
	}
	return map[string][]byte{
		fListed:        flag(it.Listed),
		fName:          []byte(it.Name),
		fGroups:        []byte(strings.Join(it.Groups, "\x00")),
		fSub:           []byte(it.State.Subscription()),
		fAsk:           []byte(ask),
		fPendingIn:     flag(it.State.PendingIn),
		fPendingStatus: []byte(it.PendingStatus),
		fApproved:      flag(it.State.Approved),
		fNote:          it.Note,
	}
}

// visible reports whether the owner's view of the item (what a roster
// push carries) differs between a and b.
func visibleChange(a, b Item) bool {
	if a.Listed != b.Listed {
		return true
	}
	if !b.Listed {
		return false
	}
	return a.Name != b.Name || !slices.Equal(a.Groups, b.Groups) ||
		a.State.Subscription() != b.State.Subscription() || a.State.PendingOut != b.State.PendingOut ||
		a.State.Approved != b.State.Approved || !slices.Equal(a.Note, b.Note)
}

// writeItem records the change from old to next in doc: only the fields
// that differ are written, so a concurrent change of another field of the
// same contact survives. A contact left with nothing is removed; removing a
// listed contact leaves a tombstone for versioned clients. It returns next
// with its modification time.
func writeItem(doc *crdt.Doc, w *crdt.Writer, old, next Item) Item {
	visible := visibleChange(old, next)
	if visible {
		next.Mod = w.Clock().Now()
	} else {
		next.Mod = old.Mod
	}
	if next.empty() {
		doc.Remove(w, next.JID)
		if old.Listed {
			doc.Set(w, tombPrefix+next.JID, fMod, encodeTS(next.Mod))
		}
		return next
	}
	if next.Listed {
		// A contact back on the roster is no longer removed.
		doc.Remove(w, tombPrefix+next.JID)
	}
	of, nf := old.fields(), next.fields()
	present := doc.Has(next.JID)
	for _, k := range []string{fListed, fName, fGroups, fSub, fAsk, fPendingIn, fPendingStatus, fApproved, fNote} {
		if present && !slices.Equal(of[k], nf[k]) || !present && len(nf[k]) > 0 {
			doc.Set(w, next.JID, k, nf[k])
		}
	}
	if visible || !present {
		doc.Set(w, next.JID, fMod, encodeTS(next.Mod))
	}
	return next
}

func encodeTS(ts crdt.Timestamp) []byte { return binary.BigEndian.AppendUint64(nil, uint64(ts)) }

func decodeTS(b []byte) crdt.Timestamp {
	if len(b) != 8 {
		return 0
	}
	return crdt.Timestamp(binary.BigEndian.Uint64(b))
}

// element returns the <item/> the owner sees; note is the opened note
// (nil for none).
func (it *Item) element(note []byte) *stanza.Element {
	el := stanza.New(nsRoster, "item", "jid", it.JID, "name", it.Name, "subscription", it.State.Subscription())
	if it.State.PendingOut {
		el.Set("ask", "subscribe")
	}
	if it.State.Approved {
		el.Set("approved", "true")
	}
	for _, g := range it.Groups {
		el.Append(stanza.New(nsRoster, "group").SetText(g))
	}
	if len(note) > 0 {
		el.Append(stanza.New(nsRoster, "note").SetText(string(note)))
	}
	return el
}

// removedElement returns the <item subscription='remove'/> of a push.
func removedElement(jid string) *stanza.Element {
	return stanza.New(nsRoster, "item", "jid", jid, "subscription", "remove")
}
