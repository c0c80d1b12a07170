package storagetest

import (
	"slices"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

// testDurability writes every shape, reopens the backend and checks that
// everything acknowledged is still there and that counters (queue and
// archive IDs, document contexts) carry on correctly.
func testDurability(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := ctx(t)
	u := "juliet@example.com"

	kvKey := storage.Key{Kind: "account", User: u}
	kvGone := storage.Key{Kind: "account", User: "deleted@example.com"}
	mustDo(t, "KV.Put", e.b.KV().Put(c, kvKey, []byte("secret")))
	mustDo(t, "KV.Put", e.b.KV().Put(c, kvGone, []byte("x")))
	mustDo(t, "KV.Delete", e.b.KV().Delete(c, kvGone))

	docKey := storage.Key{Kind: "roster", User: u}
	d := e.b.Documents()
	mustDo(t, "Documents.Put", d.Put(c, docKey, nil, []byte("base")))
	read := wantSiblings(t, d, docKey, "base")
	mustDo(t, "Documents.Put", d.Put(c, docKey, read.Context, []byte("A")))
	mustDo(t, "Documents.Put", d.Put(c, docKey, read.Context, []byte("B")))
	both := wantSiblings(t, d, docKey, "A", "B")

	qKey := storage.Key{Kind: "offline", User: u}
	items := pushN(t, e.b.Queues(), qKey, 5, 0)
	mustDo(t, "Queues.Ack", e.b.Queues().Ack(c, qKey, items[1].ID))
	items = slices.Delete(items, 1, 2)

	aKey := storage.Key{Kind: "mam", User: u}
	ids := appendTen(t, e.b.Archives(), aKey)
	mustDo(t, "Archives.DeleteBefore", e.b.Archives().DeleteBefore(c, aKey, entryTime(2)))

	e.reopen()
	if err := e.b.Ping(c); err != nil {
		t.Fatalf("Ping after reopen: %v", err)
	}

	t.Run("KV", func(t *testing.T) {
		wantKV(t, e.b.KV(), kvKey, "secret")
		wantList(t, "KV.List(account)", e.b.KV().List, c, "account", []string{u})
	})

	t.Run("Documents", func(t *testing.T) {
		d := e.b.Documents()
		wantSiblings(t, d, docKey, "A", "B")
		wantList(t, "Documents.List(roster)", d.List, c, "roster", []string{u})
		// A context from before the reopen still covers what it saw;
		// a write made after the reopen stays beside it.
		mustDo(t, "Put C", d.Put(c, docKey, read.Context, []byte("C")))
		mustDo(t, "Put merged", d.Put(c, docKey, both.Context, []byte("AB")))
		wantSiblings(t, d, docKey, "AB", "C")
	})

	t.Run("Queues", func(t *testing.T) {
		q := e.b.Queues()
		wantQueue(t, q, qKey, items)
		later := pushN(t, q, qKey, 1, 0)
		if later[0].ID <= items[len(items)-1].ID {
			t.Errorf("Push after reopen returned ID %q, not greater than %q", later[0].ID, items[len(items)-1].ID)
		}
		if _, err := q.Push(c, qKey, []byte("over"), 5); err == nil {
			t.Errorf("Push at limit 5 with 5 queued after reopen succeeded, want ErrQueueFull")
		}
	})

	t.Run("Archives", func(t *testing.T) {
		a := e.b.Archives()
		res, err := a.Query(c, aKey, storage.ArchiveQuery{})
		if err != nil || !slices.Equal(entryIDs(res.Entries), ids[2:]) {
			t.Errorf("Query after reopen = %q, %v; want %q", entryIDs(res.Entries), err, ids[2:])
		}
		for i := 2; i < len(ids); i++ {
			got, err := a.Get(c, aKey, ids[i])
			if want := tenEntry(i, ids[i]); err != nil || !equalEntry(got, want) {
				t.Errorf("Get(%q) after reopen = %s, %v; want %s", ids[i], fmtEntry(got), err, fmtEntry(want))
			}
		}
		// Even with an earlier time, a new entry sorts after the old ones.
		id, err := a.Append(c, aKey, storage.ArchiveEntry{Time: entryTime(0), Data: []byte("late")})
		mustDo(t, "Append", err)
		if id <= ids[9] {
			t.Errorf("Append after reopen returned ID %q, not greater than %q", id, ids[9])
		}
	})

	t.Run("reopen twice", func(t *testing.T) {
		e.reopen()
		wantKV(t, e.b.KV(), kvKey, "secret")
		wantSiblings(t, e.b.Documents(), docKey, "AB", "C")
		if n, err := e.b.Queues().Len(c, qKey); err != nil || n != len(items)+1 {
			t.Errorf("Len after second reopen = %d, %v; want %d", n, err, len(items)+1)
		}
	})
}
