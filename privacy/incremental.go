package privacy

import (
	"context"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/stanza"
)

// An edit is one <add/> or <remove/> of an incremental update.
type edit struct {
	list    string
	remove  bool
	add     []Item
	removes []removal
}

// parseEdits reads the children of an incremental query, in document
// order; any malformed one fails the whole request with bad-request.
func parseEdits(kids []*stanza.Element) ([]edit, error) {
	edits := make([]edit, 0, len(kids))
	for _, k := range kids {
		ed := edit{list: k.Get("name"), remove: k.Name.Local == "remove"}
		if ed.list == "" {
			return nil, c2s.BadRequest("<" + k.Name.Local + "/> needs a 'name'")
		}
		if k.Name.Local == "add" {
			seen := map[uint32]bool{}
			for _, el := range k.Elements() {
				it, err := parseItem(el)
				if err != nil {
					return nil, err
				}
				if seen[it.Order] {
					return nil, c2s.BadRequest("two items of one <add/> have the same 'order'")
				}
				seen[it.Order] = true
				ed.add = append(ed.add, it)
			}
		} else {
			for _, el := range k.Elements() {
				r, err := parseRemoval(el)
				if err != nil {
					return nil, err
				}
				ed.removes = append(ed.removes, r)
			}
		}
		edits = append(edits, ed)
	}
	return edits, nil
}

// A listDelta is what an incremental update did to one list: the items as
// they were before it touched them, and as they are after.
type listDelta struct {
	before  map[string]Item // by item suffix; only items that existed
	touched map[string]bool
	after   []Item
}

// incremental applies <add/> and <remove/> elements in document order as
// one document update: all of them or, on an error, none (DESIGN.md).
func (s *Service) incremental(ctx context.Context, e env, st *sessState, kids []*stanza.Element) ([]func(), error) {
	edits, err := parseEdits(kids)
	if err != nil {
		return nil, err
	}
	u := st.user
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := s.loadLocked(ctx, u, "request"); err != nil {
		return nil, err
	}
	for _, ed := range edits {
		if err := s.checkGroups(ctx, u, ed.add); err != nil {
			return nil, err
		}
	}
	var changes []change
	_, err = s.appendOps(ctx, u, func(doc *crdt.Doc, w *crdt.Writer) error {
		deltas, order, err := applyEdits(doc, w, edits)
		if err != nil {
			return err
		}
		changes = netChanges(doc, deltas, order)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.m.updates.WithLabelValues("incremental").Inc()
	var after []func()
	for _, ch := range changes {
		after = append(after, s.changedLocked(ctx, e, u, ch)...)
	}
	return after, nil
}

// netChanges turns the deltas of applyEdits into one change per list, in
// the order first touched: the touched items as they were (del) and as
// they are now in doc (add).
func netChanges(doc *crdt.Doc, deltas map[string]*listDelta, order []string) []change {
	out := make([]change, 0, len(order))
	for _, name := range order {
		d := deltas[name]
		del := make([]Item, 0, len(d.before))
		for _, it := range d.before {
			del = append(del, it)
		}
		var add []Item
		for sfx := range d.touched {
			if it, ok := readItem(doc, itemKey(name, sfx)); ok {
				add = append(add, it)
			}
		}
		out = append(out, change{list: name, del: del, add: add})
	}
	return out
}

// applyEdits runs edits on doc. Each touched item's state before the
// first edit that touched it is recorded, so that the compiled lists in
// use can be patched with exactly the net change. It returns the touched
// lists in the order first touched.
func applyEdits(doc *crdt.Doc, w *crdt.Writer, edits []edit) (map[string]*listDelta, []string, error) {
	deltas := map[string]*listDelta{}
	var order []string
	delta := func(list string) *listDelta {
		d := deltas[list]
		if d == nil {
			d = &listDelta{before: map[string]Item{}, touched: map[string]bool{}}
			deltas[list] = d
			order = append(order, list)
		}
		return d
	}
	touch := func(d *listDelta, list, sfx string) {
		if d.touched[sfx] {
			return
		}
		d.touched[sfx] = true
		if it, ok := readItem(doc, itemKey(list, sfx)); ok {
			d.before[sfx] = it
		}
	}
	for _, ed := range edits {
		switch exists := listExists(doc, ed.list); {
		case !exists && ed.remove:
			return nil, nil, c2s.ItemNotFound("no such list: " + ed.list)
		case !exists:
			doc.Add(w, nameKey(ed.list)) // an <add/> creates its list
		}
		d := delta(ed.list)
		for _, it := range ed.add {
			touch(d, ed.list, itemSuffix(it))
			if _, _, ok := putItem(doc, w, ed.list, it); !ok {
				return nil, nil, c2s.BadRequest("another item of the list has that 'order'")
			}
		}
		for _, r := range ed.removes {
			for _, it := range matching(doc, ed.list, r) {
				touch(d, ed.list, itemSuffix(it))
				deleteItem(doc, w, ed.list, it)
			}
		}
	}
	return deltas, order, nil
}
