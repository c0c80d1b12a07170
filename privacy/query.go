package privacy

import (
	"context"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// An env is how a handler reaches other sessions: the directory for the
// user's own resources and the router for presence to contacts.
type env struct {
	dir   c2s.Directory
	route func(ctx context.Context, st *stanza.Element)
}

func envFor(sess *c2s.Session) env {
	srv := sess.Server()
	return env{dir: srv.Directory(), route: func(ctx context.Context, st *stanza.Element) { srv.Route(ctx, sess, st) }}
}

// handlePrivacyIQ serves jabber:iq:privacy from the account's own
// resources (XEP-0016 §2, DESIGN.md "Incremental privacy-list updates").
func (s *Service) handlePrivacyIQ(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	res, after, err := s.privacyQuery(ctx, envFor(iq.Session), iq.Session, iq.Type, iq.Payload)
	for _, f := range after {
		iq.AfterReply(f)
	}
	return res, err
}

// privacyQuery answers a privacy IQ from self; after holds what to run once
// the answer is queued (pushes).
func (s *Service) privacyQuery(ctx context.Context, e env, self c2s.Resource, typ string, q *stanza.Element) (*stanza.Element, []func(), error) {
	if q.Name.Local != "query" {
		return nil, nil, c2s.BadRequest("expected <query/>")
	}
	st := s.stateOf(self)
	if st == nil {
		s.bind(ctx, self)
		st = s.stateOf(self)
	}
	kids := q.Elements()
	for _, k := range kids {
		if k.Name.Space != nsPrivacy {
			return nil, nil, c2s.BadRequest("unexpected element in the privacy query")
		}
	}
	if typ == "get" {
		res, err := s.get(ctx, st, kids)
		return res, nil, err
	}
	if len(kids) == 0 {
		return nil, nil, c2s.BadRequest("a privacy set carries one <active/>, <default/> or <list/>")
	}
	incremental := 0
	for _, k := range kids {
		if k.Name.Local == "add" || k.Name.Local == "remove" {
			incremental++
		}
	}
	if incremental > 0 {
		if incremental != len(kids) {
			return nil, nil, c2s.BadRequest("<add/> and <remove/> do not mix with other elements")
		}
		if s.allowIncremental != nil && !s.allowIncremental(self.JID().Bare()) {
			return nil, nil, c2s.FeatureNotImplemented("incremental privacy-list updates are not enabled for this account")
		}
		after, err := s.incremental(ctx, e, st, kids)
		return nil, after, err
	}
	if len(kids) != 1 {
		return nil, nil, c2s.BadRequest("a privacy set carries exactly one child element")
	}
	k := kids[0]
	switch k.Name.Local {
	case "active":
		return nil, nil, s.setActive(ctx, st, k.Get("name"))
	case "default":
		return nil, nil, s.setDefault(ctx, st, k.Get("name"))
	case "list":
		after, err := s.setList(ctx, e, st, k)
		return nil, after, err
	}
	return nil, nil, c2s.BadRequest("unknown element in the privacy query")
}

// get answers the names of the lists or one list (XEP-0016 §2.3).
func (s *Service) get(ctx context.Context, st *sessState, kids []*stanza.Element) (*stanza.Element, error) {
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(kids) > 1 {
		return nil, c2s.BadRequest("one list at a time")
	}
	s.m.loads.WithLabelValues("request").Inc()
	doc, err := s.store.Load(ctx, u.bare)
	if err != nil {
		s.m.storeErrors.Inc()
		return nil, err
	}
	out := stanza.New(nsPrivacy, "query")
	if len(kids) == 0 {
		if a := st.active.Load(); a != nil {
			out.Append(stanza.New(nsPrivacy, "active", "name", a.name))
		}
		if d := defaultList(doc); d != "" {
			out.Append(stanza.New(nsPrivacy, "default", "name", d))
		}
		for _, name := range listNames(doc) {
			out.Append(stanza.New(nsPrivacy, "list", "name", name))
		}
		return out, nil
	}
	k := kids[0]
	name := k.Get("name")
	if k.Name.Local != "list" || name == "" {
		return nil, c2s.BadRequest("a privacy get asks for one <list name=…/>")
	}
	if !listExists(doc, name) {
		return nil, c2s.ItemNotFound("no such list")
	}
	list := stanza.New(nsPrivacy, "list", "name", name)
	for _, it := range readList(doc, name) {
		list.Append(it.element())
	}
	return out.Append(list), nil
}

// appliesElsewhere reports whether list applies to a session of u other
// than st (XEP-0016 §2.2 rule 11). u.mu is held.
func appliesElsewhere(u *userState, st *sessState, list string) bool {
	for o := range u.sessions {
		if o == st {
			continue
		}
		if a := o.active.Load(); a != nil && a.name == list || a == nil && u.defName == list && list != "" {
			return true
		}
	}
	return false
}

// setActive sets or declines the session's active list (XEP-0016 §2.4).
func (s *Service) setActive(ctx context.Context, st *sessState, name string) error {
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if name == "" {
		st.active.Store(nil)
		s.m.updates.WithLabelValues("active").Inc()
		return nil
	}
	l, err := s.compiledLocked(ctx, u, name)
	if err != nil {
		return err
	}
	st.active.Store(l)
	s.m.updates.WithLabelValues("active").Inc()
	return nil
}

// compiledLocked returns list compiled: shared with a session or the
// default when one uses it, else read from storage. u.mu is held.
func (s *Service) compiledLocked(ctx context.Context, u *userState, name string) (*compiled, error) {
	if l := inUse(u, name); l != nil {
		return l, nil
	}
	s.m.loads.WithLabelValues("request").Inc()
	doc, err := s.store.Load(ctx, u.bare)
	if err != nil {
		s.m.storeErrors.Inc()
		return nil, err
	}
	if !listExists(doc, name) {
		return nil, c2s.ItemNotFound("no such list")
	}
	return compile(name, readList(doc, name)), nil
}

// inUse returns the compiled form of list if a session or the default
// uses it. u.mu is held.
func inUse(u *userState, name string) *compiled {
	if d := u.def.Load(); d != nil && d.name == name {
		return d
	}
	for o := range u.sessions {
		if a := o.active.Load(); a != nil && a.name == name {
			return a
		}
	}
	return nil
}

// setDefault sets or declines the default list (XEP-0016 §2.5).
func (s *Service) setDefault(ctx context.Context, st *sessState, name string) error {
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := s.loadLocked(ctx, u, "request"); err != nil {
		return err
	}
	if name == u.defName {
		if name != "" {
			// Still check that it exists (removed on another node).
			if _, err := s.compiledLocked(ctx, u, name); err != nil {
				return err
			}
		}
		return nil
	}
	var l *compiled
	if name != "" {
		var err error
		if l, err = s.compiledLocked(ctx, u, name); err != nil {
			return err
		}
	}
	if u.defName != "" {
		for o := range u.sessions {
			if o != st && o.active.Load() == nil {
				return c2s.Conflict("the default list is in use by another resource")
			}
		}
	}
	_, err := s.update(ctx, u, func(doc *crdt.Doc, w *crdt.Writer) error {
		if name != "" && !listExists(doc, name) {
			return c2s.ItemNotFound("no such list")
		}
		doc.SetDoc(w, fDefault, []byte(name))
		return nil
	})
	if err != nil {
		return err
	}
	u.defName = name
	u.def.Store(l)
	s.m.updates.WithLabelValues("default").Inc()
	return nil
}

// setList replaces a list's items, or removes the list when the <list/>
// is empty (XEP-0016 §2.6–2.8).
func (s *Service) setList(ctx context.Context, e env, st *sessState, el *stanza.Element) ([]func(), error) {
	name := el.Get("name")
	if name == "" {
		return nil, c2s.BadRequest("a list needs a 'name'")
	}
	items, err := parseList(el)
	if err != nil {
		return nil, err
	}
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := s.loadLocked(ctx, u, "request"); err != nil {
		return nil, err
	}
	if err := s.checkGroups(ctx, u, items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return s.removeListLocked(ctx, e, st, name)
	}
	var old []Item
	_, err = s.update(ctx, u, func(doc *crdt.Doc, w *crdt.Writer) error {
		old = readList(doc, name)
		replaceList(doc, w, name, items)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.m.updates.WithLabelValues("list").Inc()
	return s.changedLocked(ctx, e, u, change{list: name, del: old, add: items, next: compile(name, items)}), nil
}

// removeListLocked deletes list unless it applies to another session.
func (s *Service) removeListLocked(ctx context.Context, e env, st *sessState, name string) ([]func(), error) {
	u := st.user
	if appliesElsewhere(u, st, name) {
		return nil, c2s.Conflict("the list is in use by another resource")
	}
	var old []Item
	_, err := s.update(ctx, u, func(doc *crdt.Doc, w *crdt.Writer) error {
		if !listExists(doc, name) {
			return c2s.ItemNotFound("no such list")
		}
		old = readList(doc, name)
		removeList(doc, w, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.m.updates.WithLabelValues("remove_list").Inc()
	after := s.changedLocked(ctx, e, u, change{list: name, del: old, next: compile(name, nil)})
	if a := st.active.Load(); a != nil && a.name == name {
		st.active.Store(nil)
	}
	if u.defName == name {
		u.defName = ""
		u.def.Store(nil)
	}
	return after, nil
}

// checkGroups refuses group items naming a group the user's roster does
// not have (XEP-0016 §2.1: item-not-found).
func (s *Service) checkGroups(ctx context.Context, u *userState, items []Item) error {
	if s.roster == nil {
		return nil
	}
	var view *rosterView
	for _, it := range items {
		if it.Type != TypeGroup {
			continue
		}
		if view == nil {
			u.roster.Store(nil) // read it fresh: the check must be exact
			view = s.loadRoster(u)
		}
		found := false
		for _, c := range *view {
			for _, g := range c.Groups {
				if g == it.Value {
					found = true
				}
			}
		}
		if !found {
			return c2s.ItemNotFound("no roster group " + it.Value)
		}
	}
	return nil
}
