package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// testClosed checks that every method returns ErrClosed after Close.
func testClosed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := ctx(t)
	k := storage.Key{Kind: "closed", User: "juliet@example.com"}
	if err := e.b.Ping(c); err != nil {
		t.Fatalf("Ping before Close: %v", err)
	}
	// Some data, so that methods cannot answer from an empty state.
	mustDo(t, "KV.Put", e.b.KV().Put(c, k, []byte("v")))
	mustDo(t, "Documents.Put", e.b.Documents().Put(c, k, nil, []byte("v")))
	id, err := e.b.Queues().Push(c, k, []byte("v"), 0)
	mustDo(t, "Queues.Push", err)
	aid, err := e.b.Archives().Append(c, k, storage.ArchiveEntry{Time: time.Now().UTC(), Data: []byte("v")})
	mustDo(t, "Archives.Append", err)
	b := e.b
	e.close()

	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Ping", b.Ping},
		{"Documents.Get", func(c context.Context) error { _, err := b.Documents().Get(c, k); return err }},
		{"Documents.Put", func(c context.Context) error { return b.Documents().Put(c, k, nil, []byte("v")) }},
		{"Documents.Delete", func(c context.Context) error { return b.Documents().Delete(c, k) }},
		{"Documents.List", func(c context.Context) error { _, err := b.Documents().List(c, k.Kind); return err }},
		{"KV.Get", func(c context.Context) error { _, err := b.KV().Get(c, k); return err }},
		{"KV.Put", func(c context.Context) error { return b.KV().Put(c, k, []byte("v")) }},
		{"KV.Create", func(c context.Context) error { return b.KV().Create(c, k, []byte("v")) }},
		{"KV.Delete", func(c context.Context) error { return b.KV().Delete(c, k) }},
		{"KV.List", func(c context.Context) error { _, err := b.KV().List(c, k.Kind); return err }},
		{"Queues.Push", func(c context.Context) error { _, err := b.Queues().Push(c, k, []byte("v"), 0); return err }},
		{"Queues.Peek", func(c context.Context) error { _, err := b.Queues().Peek(c, k, 0); return err }},
		{"Queues.Ack", func(c context.Context) error { return b.Queues().Ack(c, k, id) }},
		{"Queues.Len", func(c context.Context) error { _, err := b.Queues().Len(c, k); return err }},
		{"Queues.Clear", func(c context.Context) error { return b.Queues().Clear(c, k) }},
		{"Archives.Append", func(c context.Context) error {
			_, err := b.Archives().Append(c, k, storage.ArchiveEntry{Time: time.Now().UTC()})
			return err
		}},
		{"Archives.Query", func(c context.Context) error {
			_, err := b.Archives().Query(c, k, storage.ArchiveQuery{})
			return err
		}},
		{"Archives.Get", func(c context.Context) error { _, err := b.Archives().Get(c, k, aid); return err }},
		{"Archives.DeleteBefore", func(c context.Context) error { return b.Archives().DeleteBefore(c, k, time.Now()) }},
		{"Archives.Clear", func(c context.Context) error { return b.Archives().Clear(c, k) }},
	}
	for _, call := range calls {
		if err := call.call(c); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", call.name, err)
		}
	}
}
