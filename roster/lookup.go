package roster

import (
	"context"
	"slices"
	"strings"
)

// Contacts returns every stored item of user's roster (a normalised bare
// JID), sorted by contact JID: the listed items and the contacts that only
// hold a subscription state (an unanswered request, a pre-approval). It is
// one storage read. Notes are left out (Item.Note is nil): this accessor
// serves callers other than the owner's own sessions (the admin API), and a
// note is shown to its owner only (DESIGN.md, "Roster notes"). A user
// without a roster has no contacts, not an error.
func (s *Service) Contacts(ctx context.Context, user string) ([]Item, error) {
	doc, err := s.load(ctx, user, "lookup")
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, key := range doc.Keys() {
		it, ok := readItem(doc, key)
		if !ok || it.empty() {
			continue
		}
		it.Note = nil
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.JID, b.JID) })
	return out, nil
}
