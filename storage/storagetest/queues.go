package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

func testQueues(t *testing.T, h Harness) {
	k := storage.Key{Kind: "offline", User: "juliet@example.com"}

	t.Run("empty", func(t *testing.T) {
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		wantQueue(t, q, k, nil)
		mustDo(t, "Ack on empty queue", q.Ack(c, k, "no-such-id"))
		mustDo(t, "Clear on empty queue", q.Clear(c, k))
		wantQueue(t, q, k, nil)
	})

	t.Run("FIFO", func(t *testing.T) {
		e := newEnv(t, h)
		q := e.b.Queues()
		items := pushN(t, q, k, 5, 0)
		wantQueue(t, q, k, items)
		data := []byte("copied")
		id, err := q.Push(ctx(t), k, data, 0)
		mustDo(t, "Push", err)
		data[0] = 'X' // the backend must have copied it
		wantQueue(t, q, k, append(items, storage.QueueItem{ID: id, Data: []byte("copied")}))
	})

	t.Run("Peek max", func(t *testing.T) {
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		items := pushN(t, q, k, 5, 0)
		for _, tc := range []struct {
			name string
			max  int
			want []storage.QueueItem
		}{
			{name: "zero means all", max: 0, want: items},
			{name: "negative means all", max: -1, want: items},
			{name: "one", max: 1, want: items[:1]},
			{name: "three", max: 3, want: items[:3]},
			{name: "exactly all", max: 5, want: items},
			{name: "more than all", max: 50, want: items},
		} {
			got, err := q.Peek(c, k, tc.max)
			if err != nil || !equalItems(got, tc.want) {
				t.Errorf("%s: Peek(max %d) = %s, %v; want %s", tc.name, tc.max, fmtItems(got), err, fmtItems(tc.want))
			}
		}
		wantQueue(t, q, k, items) // Peek removed nothing
	})

	t.Run("Ack", func(t *testing.T) {
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		items := pushN(t, q, k, 5, 0)
		mustDo(t, "Ack", q.Ack(c, k, items[0].ID, items[2].ID))
		wantQueue(t, q, k, []storage.QueueItem{items[1], items[3], items[4]})
		// Unknown and already acknowledged IDs are ignored.
		mustDo(t, "Ack", q.Ack(c, k, items[0].ID, "no-such-id", items[4].ID))
		wantQueue(t, q, k, []storage.QueueItem{items[1], items[3]})
		mustDo(t, "Ack nothing", q.Ack(c, k))
		wantQueue(t, q, k, []storage.QueueItem{items[1], items[3]})
		mustDo(t, "Ack rest", q.Ack(c, k, items[1].ID, items[3].ID))
		wantQueue(t, q, k, nil)
		// IDs keep growing after the queue emptied.
		later := pushN(t, q, k, 1, 0)
		if later[0].ID <= items[4].ID {
			t.Errorf("Push after Ack returned ID %q, not greater than earlier %q", later[0].ID, items[4].ID)
		}
	})

	t.Run("limit", func(t *testing.T) {
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		items := pushN(t, q, k, 3, 3)
		id, err := q.Push(c, k, []byte("overflow"), 3)
		if !errors.Is(err, storage.ErrQueueFull) {
			t.Errorf("Push over limit = %q, %v; want ErrQueueFull", id, err)
		}
		wantQueue(t, q, k, items) // nothing stored
		// A larger limit, or none, lets it in.
		if _, err := q.Push(c, k, []byte("bigger"), 4); err != nil {
			t.Errorf("Push under a larger limit: %v", err)
		}
		if _, err := q.Push(c, k, []byte("unlimited"), 0); err != nil {
			t.Errorf("Push with no limit: %v", err)
		}
		if n, err := q.Len(c, k); err != nil || n != 5 {
			t.Errorf("Len = %d, %v; want 5", n, err)
		}
		// Acknowledging frees room.
		if _, err := q.Push(c, k, []byte("x"), 5); !errors.Is(err, storage.ErrQueueFull) {
			t.Errorf("Push at limit 5 with 5 queued = %v, want ErrQueueFull", err)
		}
		mustDo(t, "Ack", q.Ack(c, k, items[0].ID))
		if _, err := q.Push(c, k, []byte("x"), 5); err != nil {
			t.Errorf("Push after Ack freed room: %v", err)
		}
	})

	t.Run("Clear", func(t *testing.T) {
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		items := pushN(t, q, k, 4, 0)
		mustDo(t, "Clear", q.Clear(c, k))
		wantQueue(t, q, k, nil)
		later := pushN(t, q, k, 1, 0)
		if later[0].ID <= items[3].ID {
			t.Errorf("Push after Clear returned ID %q, not greater than earlier %q", later[0].ID, items[3].ID)
		}
		wantQueue(t, q, k, later)
	})

	t.Run("queues are distinct", func(t *testing.T) {
		e := newEnv(t, h)
		q := e.b.Queues()
		keys := []storage.Key{
			{Kind: "offline", User: "a"},
			{Kind: "offline", User: "ab"},
			{Kind: "offlines", User: "a"},
			{Kind: "outbox", User: "a"},
		}
		var want [][]storage.QueueItem
		for i, key := range keys {
			want = append(want, pushN(t, q, key, i+1, 0))
		}
		for i, key := range keys {
			wantQueue(t, q, key, want[i])
		}
		mustDo(t, "Clear", q.Clear(ctx(t), keys[0]))
		wantQueue(t, q, keys[1], want[1])
	})
}

// pushN pushes n items with the given limit and returns them as stored,
// checking that IDs rise.
func pushN(t *testing.T, q storage.Queues, k storage.Key, n, limit int) []storage.QueueItem {
	t.Helper()
	var items []storage.QueueItem
	for i := range n {
		data := fmt.Appendf(nil, "%s item %d", k, i)
		id, err := q.Push(ctx(t), k, data, limit)
		if err != nil {
			t.Fatalf("Push(%s, item %d): %v", k, i, err)
		}
		if len(items) > 0 && id <= items[len(items)-1].ID {
			t.Errorf("Push(%s) returned ID %q after %q; want rising IDs", k, id, items[len(items)-1].ID)
		}
		items = append(items, storage.QueueItem{ID: id, Data: data})
	}
	return items
}

// wantQueue checks Peek(all) and Len.
func wantQueue(t *testing.T, q storage.Queues, k storage.Key, want []storage.QueueItem) {
	t.Helper()
	got, err := q.Peek(ctx(t), k, 0)
	if err != nil || !equalItems(got, want) {
		t.Errorf("Peek(%s) = %s, %v; want %s", k, fmtItems(got), err, fmtItems(want))
	}
	n, err := q.Len(ctx(t), k)
	if err != nil || n != len(want) {
		t.Errorf("Len(%s) = %d, %v; want %d", k, n, err, len(want))
	}
}

func equalItems(a, b []storage.QueueItem) bool {
	return slices.EqualFunc(a, b, func(x, y storage.QueueItem) bool {
		return x.ID == y.ID && string(x.Data) == string(y.Data)
	})
}

func fmtItems(items []storage.QueueItem) string {
	s := "["
	for i, it := range items {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%q", it.ID, it.Data)
	}
	return s + "]"
}
