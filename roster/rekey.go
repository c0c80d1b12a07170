package roster

import (
	"context"
	"fmt"
	"slices"

	"github.com/xmppd/xmppd/crdt"
)

// Users lists the users that have a roster document (notes rekeying).
func (s *Service) Users(ctx context.Context) ([]string, error) {
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: list users: %w", err)
	}
	return users, nil
}

// RewriteNotes calls f for each note in user's roster and writes the
// replacements f returns, in one read-merge-write update that touches only
// those notes (notes.RekeySource). A replacement keeps the item's
// modification time: re-sealing is not a change the owner sees.
func (s *Service) RewriteNotes(ctx context.Context, user string, f func(owner, contact string, sealed []byte) ([]byte, error)) (int, error) {
	n := 0
	_, err := s.update(ctx, user, func(doc *crdt.Doc, w *crdt.Writer) error {
		n = 0
		for _, key := range doc.Keys() {
			sealed, ok := doc.Field(key, fNote)
			if !ok || len(sealed) == 0 {
				continue
			}
			repl, err := f(user, key, slices.Clone(sealed))
			if err != nil {
				return err
			}
			if repl != nil {
				doc.Set(w, key, fNote, repl)
				n++
			}
		}
		if n == 0 {
			return errNoChange
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
