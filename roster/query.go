package roster

import (
	"context"
	"slices"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// handleIQ serves roster get and set from the account's own resources
// (RFC 6121 §2).
func (s *Service) handleIQ(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	return s.query(ctx, envFor(iq.Session), iq.Session, iq.Type, iq.Payload, iq.AfterReply)
}

// query answers a roster IQ from self. after runs a function once the
// answer is queued.
func (s *Service) query(ctx context.Context, e env, self c2s.Resource, typ string, q *stanza.Element, after func(func())) (*stanza.Element, error) {
	if q.Name.Local != "query" {
		return nil, c2s.BadRequest("expected <query/>")
	}
	if typ == "get" {
		return s.get(ctx, e, self, q, after)
	}
	items := q.Elements()
	if len(items) != 1 || items[0].Name.Space != nsRoster || items[0].Name.Local != "item" {
		return nil, c2s.BadRequest("a roster set carries exactly one <item/>")
	}
	item := items[0]
	owner := self.JID().Bare().String()
	raw := item.Get("jid")
	if raw == "" {
		return nil, c2s.BadRequest("the item needs a 'jid'")
	}
	j, err := jid.Parse(raw)
	if err != nil {
		return nil, c2s.BadRequest("the item's 'jid' is not a valid JID")
	}
	if j.Resourcepart() != "" {
		return nil, c2s.BadRequest("roster items are bare JIDs")
	}
	contact := j.String()
	if item.Get("subscription") == "remove" {
		return nil, s.remove(ctx, e, owner, contact)
	}
	if contact == owner {
		return nil, c2s.NotAllowed("the account itself cannot be a contact")
	}
	set, err := s.parseItem(owner, contact, item)
	if err != nil {
		return nil, err
	}
	var next Item
	doc, err := s.update(ctx, owner, func(doc *crdt.Doc, w *crdt.Writer) error {
		old, _ := readItem(doc, contact)
		if !old.Listed && listedCount(doc) >= s.cfg.maxItems() {
			return c2s.ResourceConstraint("the roster is full")
		}
		n := old
		n.Listed, n.Name, n.Groups, n.Note = true, set.Name, set.Groups, set.Note
		next = writeItem(doc, w, old, n)
		pruneTombstones(doc, w, s.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	// RFC 6121 §2.3.2: every set is pushed, changed or not.
	s.changed(e, owner, doc, change{Item: next})
	return nil, nil
}

// parseItem checks a roster set's item (RFC 6121 §2.3.3, DESIGN.md's
// notes) and returns the fields it sets, the note sealed.
func (s *Service) parseItem(owner, contact string, item *stanza.Element) (Item, error) {
	it := Item{JID: contact, Name: item.Get("name")}
	if len(it.Name) > s.cfg.maxNameLength() {
		return it, c2s.NotAcceptable("the name is too long")
	}
	var note *stanza.Element
	for _, c := range item.Elements() {
		if c.Name.Space != nsRoster {
			continue
		}
		switch c.Name.Local {
		case "group":
			g := c.Text()
			switch {
			case g == "":
				return it, c2s.NotAcceptable("a group name cannot be empty; leave <group/> out instead")
			case len(g) > s.cfg.maxGroupLength():
				return it, c2s.NotAcceptable("a group name is too long")
			case slices.Contains(it.Groups, g):
				return it, c2s.BadRequest("duplicate group " + g)
			}
			it.Groups = append(it.Groups, g)
		case "note":
			if note != nil {
				return it, c2s.BadRequest("more than one <note/>")
			}
			note = c
		}
	}
	if len(it.Groups) > s.cfg.maxGroups() {
		return it, c2s.NotAcceptable("too many groups")
	}
	slices.Sort(it.Groups)
	if note != nil && note.Text() != "" {
		text := note.Text()
		if len(text) > MaxNoteBytes {
			return it, c2s.NotAcceptable("a note holds at most 1024 bytes of UTF-8")
		}
		if s.notes == nil {
			return it, c2s.FeatureNotImplemented("roster notes are not enabled")
		}
		sealed, err := s.notes.Seal(owner, contact, []byte(text))
		if err != nil {
			return it, err
		}
		it.Note = sealed
	}
	return it, nil
}

func listedCount(doc *crdt.Doc) int {
	n := 0
	for _, k := range doc.Keys() {
		if v, _ := doc.Field(k, fListed); string(v) == "1" {
			n++
		}
	}
	return n
}

// get answers a roster get, with versioning when the client asks for it
// (XEP-0237): an empty result when its version is current, the changes as
// pushes after an empty result when they are few, the whole roster
// otherwise.
func (s *Service) get(ctx context.Context, e env, self c2s.Resource, q *stanza.Element, after func(func())) (*stanza.Element, error) {
	if len(q.Elements()) != 0 {
		return nil, c2s.BadRequest("a roster get carries no items")
	}
	owner := self.JID().Bare().String()
	doc, err := s.load(ctx, owner, "get")
	if err != nil {
		return nil, err
	}
	st := s.state(self)
	// Cache the presence view unless a concurrent change got there first.
	st.contacts.CompareAndSwap(st.contacts.Load(), contactsOf(doc))
	versioned := q.Has("ver")
	st.versioned.Store(versioned)
	st.interested.Store(true)
	ver := version(doc)
	if versioned {
		clientVer := q.Get("ver")
		if clientVer == ver {
			s.m.gets.WithLabelValues("unchanged").Inc()
			return nil, nil
		}
		if since, ok := parseVersion(clientVer); ok {
			if changes, ok := changesSince(doc, since); ok && len(changes) > 0 && len(changes) <= max(listedCount(doc)/2, maxIncremental) {
				s.m.gets.WithLabelValues("incremental").Inc()
				after(func() {
					for i, ch := range changes {
						v := intermediateVersion(ch.Mod)
						if i == len(changes)-1 {
							v = ver
						}
						self.Send(s.pushIQ(owner, ch, v))
						s.m.pushes.Inc()
					}
				})
				return nil, nil
			}
		}
	}
	s.m.gets.WithLabelValues("full").Inc()
	res := stanza.New(nsRoster, "query")
	if versioned {
		res.Set("ver", ver)
	}
	for _, key := range doc.Keys() {
		if strings.HasPrefix(key, tombPrefix) {
			continue
		}
		if it, _ := readItem(doc, key); it.Listed {
			res.Append(it.element(s.openNote(owner, &it)))
		}
	}
	return res, nil
}

// remove deletes contact from owner's roster and cancels the subscriptions
// in both directions (RFC 6121 §2.5.2).
func (s *Service) remove(ctx context.Context, e env, owner, contact string) error {
	var old Item
	doc, err := s.update(ctx, owner, func(doc *crdt.Doc, w *crdt.Writer) error {
		var ok bool
		old, ok = readItem(doc, contact)
		if !ok || !old.Listed {
			return c2s.ItemNotFound("no such contact")
		}
		writeItem(doc, w, old, Item{JID: contact})
		pruneTombstones(doc, w, s.now())
		return nil
	})
	if err != nil {
		return err
	}
	s.changed(e, owner, doc, change{Item: Item{JID: contact}, Removed: true})
	if old.State.To || old.State.PendingOut {
		s.m.transitions.WithLabelValues("out", "unsubscribe").Inc()
		s.forward(ctx, e, owner, contact, "unsubscribe", nil)
	}
	if old.State.From || old.State.PendingIn {
		s.m.transitions.WithLabelValues("out", "unsubscribed").Inc()
		s.forward(ctx, e, owner, contact, "unsubscribed", nil)
		if old.State.From {
			s.sendPresenceOf(ctx, e, owner, contact, true)
		}
	}
	return nil
}
