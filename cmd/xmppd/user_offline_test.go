package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/xmppd/xmppd/offline"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

// TestUserDelOnTheStoreClearsOfflineMessages: deleting an account from
// the store also deletes the messages waiting for it, so that an account
// created later under the same name does not receive them.
func TestUserDelOnTheStoreClearsOfflineMessages(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--data-dir", dir, "--http-addr", freeAddr(t)}
	runSteps(t, common, []step{
		{args: []string{"user", "add", "bob@localhost", "--password", "pw"}, wantOut: "user bob@localhost added\n"},
	})
	ctx := context.Background()
	bob := storage.Key{Kind: offline.Kind, User: "bob@localhost"}
	carol := storage.Key{Kind: offline.Kind, User: "carol@localhost"}
	withStore := func(f func(q storage.Queues)) {
		db, err := pebble.Open(filepath.Join(dir, storeDir), pebble.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		f(db.Queues())
	}
	withStore(func(q storage.Queues) {
		for _, k := range []storage.Key{bob, carol} {
			if _, err := q.Push(ctx, k, []byte("<message xmlns='jabber:client'/>"), 0); err != nil {
				t.Fatal(err)
			}
		}
	})
	runSteps(t, common, []step{
		{args: []string{"user", "del", "bob@localhost"}, wantOut: "user bob@localhost deleted\n"},
	})
	withStore(func(q storage.Queues) {
		if n, err := q.Len(ctx, bob); err != nil || n != 0 {
			t.Errorf("bob's offline queue after user del: %d, %v; want empty", n, err)
		}
		if n, err := q.Len(ctx, carol); err != nil || n != 1 {
			t.Errorf("carol's offline queue: %d, %v; want untouched", n, err)
		}
	})
}
