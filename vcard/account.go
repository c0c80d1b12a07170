package vcard

import (
	"context"
	"errors"
	"fmt"

	"github.com/xmppd/xmppd/storage"
)

// RemoveUser deletes the vCard and avatar hash of bare (a normalised bare
// JID), for account deletion. Missing data is not an error. The account's
// sessions are gone by then, so no session cache keeps the old hash.
func RemoveUser(ctx context.Context, kv storage.KV, bare string) error {
	for _, kind := range []string{Kind, HashKind} {
		if err := kv.Delete(ctx, storage.Key{Kind: kind, User: bare}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("vcard: delete %s of %s: %w", kind, bare, err)
		}
	}
	return nil
}
