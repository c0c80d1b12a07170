package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// testKeys checks that every method taking a key or kind rejects invalid
// ones with an error and stores nothing.
func testKeys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	b := e.b
	c := ctx(t)
	calls := []struct {
		name string
		call func(context.Context, storage.Key) error
	}{
		{"Documents.Get", func(c context.Context, k storage.Key) error { _, err := b.Documents().Get(c, k); return err }},
		{"Documents.Put", func(c context.Context, k storage.Key) error { return b.Documents().Put(c, k, nil, []byte("v")) }},
		{"Documents.Delete", func(c context.Context, k storage.Key) error { return b.Documents().Delete(c, k) }},
		{"KV.Get", func(c context.Context, k storage.Key) error { _, err := b.KV().Get(c, k); return err }},
		{"KV.Put", func(c context.Context, k storage.Key) error { return b.KV().Put(c, k, []byte("v")) }},
		{"KV.Create", func(c context.Context, k storage.Key) error { return b.KV().Create(c, k, []byte("v")) }},
		{"KV.Delete", func(c context.Context, k storage.Key) error { return b.KV().Delete(c, k) }},
		{"Queues.Push", func(c context.Context, k storage.Key) error {
			_, err := b.Queues().Push(c, k, []byte("v"), 0)
			return err
		}},
		{"Queues.Peek", func(c context.Context, k storage.Key) error { _, err := b.Queues().Peek(c, k, 0); return err }},
		{"Queues.Ack", func(c context.Context, k storage.Key) error { return b.Queues().Ack(c, k, "x") }},
		{"Queues.Len", func(c context.Context, k storage.Key) error { _, err := b.Queues().Len(c, k); return err }},
		{"Queues.Clear", func(c context.Context, k storage.Key) error { return b.Queues().Clear(c, k) }},
		{"Archives.Append", func(c context.Context, k storage.Key) error {
			_, err := b.Archives().Append(c, k, storage.ArchiveEntry{Time: time.Now().UTC(), Data: []byte("v")})
			return err
		}},
		{"Archives.Query", func(c context.Context, k storage.Key) error {
			_, err := b.Archives().Query(c, k, storage.ArchiveQuery{})
			return err
		}},
		{"Archives.Get", func(c context.Context, k storage.Key) error { _, err := b.Archives().Get(c, k, "x"); return err }},
		{"Archives.DeleteBefore", func(c context.Context, k storage.Key) error {
			return b.Archives().DeleteBefore(c, k, time.Now())
		}},
		{"Archives.Clear", func(c context.Context, k storage.Key) error { return b.Archives().Clear(c, k) }},
	}
	for _, call := range calls {
		for _, k := range invalidKeys {
			t.Run(call.name+"/"+k.name, func(t *testing.T) {
				if err := call.call(c, k.key); err == nil {
					t.Errorf("%s(%q) = nil error, want an error", call.name, k.key)
				}
			})
		}
	}
	t.Run("List with invalid kind", func(t *testing.T) {
		for _, kind := range []string{"", "a/b", "a\x00b"} {
			if _, err := b.Documents().List(c, kind); err == nil {
				t.Errorf("Documents.List(%q) = nil error, want an error", kind)
			}
			if _, err := b.KV().List(c, kind); err == nil {
				t.Errorf("KV.List(%q) = nil error, want an error", kind)
			}
		}
	})
	t.Run("nothing stored", func(t *testing.T) {
		// Puts with a valid kind and an invalid user must not have
		// created anything listable.
		if users, err := b.Documents().List(c, "roster"); err != nil || len(users) != 0 {
			t.Errorf("Documents.List(roster) = %q, %v; want nothing", users, err)
		}
		if users, err := b.KV().List(c, "roster"); err != nil || len(users) != 0 {
			t.Errorf("KV.List(roster) = %q, %v; want nothing", users, err)
		}
	})
}
