package lastactivity

import (
	"context"
	"errors"
	"fmt"

	"github.com/xmppd/xmppd/storage"
)

// RemoveUser deletes the last logout record of bare (a normalised bare
// JID), for account deletion. A missing record is not an error.
func RemoveUser(ctx context.Context, kv storage.KV, bare string) error {
	if err := kv.Delete(ctx, storage.Key{Kind: Kind, User: bare}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("lastactivity: delete record of %s: %w", bare, err)
	}
	return nil
}
