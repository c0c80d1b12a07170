package mam

import (
	"context"
	"errors"
	"fmt"

	"github.com/xmppd/xmppd/storage"
)

// RemoveUser deletes the archive and the preferences of bare (a normalised
// bare JID), for account deletion. Missing data is not an error.
func RemoveUser(ctx context.Context, archives storage.Archives, kv storage.KV, bare string) error {
	if err := archives.Clear(ctx, storage.Key{Kind: Kind, User: bare}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("mam: clear archive of %s: %w", bare, err)
	}
	if err := kv.Delete(ctx, storage.Key{Kind: PrefsKind, User: bare}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("mam: delete preferences of %s: %w", bare, err)
	}
	return nil
}
