package privacy

import (
	"context"
	"fmt"
)

// RemoveAccount deletes the privacy lists of user (a normalised bare JID)
// whose account is being deleted, and forgets what this node cached of
// them, so a new account of the same name starts with no lists.
func (s *Service) RemoveAccount(ctx context.Context, user string) error {
	if v, ok := s.users.Load(user); ok {
		u := v.(*userState)
		u.mu.Lock()
		defer u.mu.Unlock()
		u.loaded, u.defName = false, ""
		u.def.Store(nil)
		u.roster.Store(nil)
	}
	if err := s.store.Delete(ctx, user); err != nil {
		s.m.storeErrors.Inc()
		return fmt.Errorf("privacy: %w", err)
	}
	return nil
}
