package c2s

import (
	"testing"

	"github.com/xmppd/xmppd/stanza"
)

func TestOutQueue(t *testing.T) {
	var q outQueue
	st := func(id string) *stanza.Element { return stanza.New(stanza.NSClient, "message", "id", id) }
	if ok, gone := q.push(st("early")); ok || !gone {
		t.Fatalf("push before start = ok %v gone %v, want the session gone", ok, gone)
	}
	q.start(3)
	for _, id := range []string{"1", "2", "3"} {
		if ok, gone := q.push(st(id)); !ok || gone {
			t.Fatalf("push %s = ok %v gone %v", id, ok, gone)
		}
	}
	if ok, gone := q.push(st("4")); ok || gone {
		t.Fatalf("push beyond the limit = ok %v gone %v, want full", ok, gone)
	}
	select {
	case <-q.wake:
	default:
		t.Fatal("no wake-up after pushing into an empty queue")
	}
	select {
	case <-q.wake:
		t.Fatal("a wake-up per push: one is enough until the writer takes")
	default:
	}
	items, closed := q.take(nil)
	if len(items) != 3 || closed || items[0].Get("id") != "1" || items[2].Get("id") != "3" {
		t.Fatalf("take = %d items (closed %v), want 1, 2, 3 in order", len(items), closed)
	}
	select {
	case <-q.room:
	default:
		t.Fatal("taking the backlog did not signal room to waiting senders")
	}
	if q.len() != 0 {
		t.Fatalf("len after take = %d", q.len())
	}
	// The taken slice comes back as spare; a large one is not kept.
	clear(items)
	q.push(st("5"))
	if got, _ := q.take(make([]*stanza.Element, 0, spareCap+1)); len(got) != 1 || cap(q.items) != 0 {
		t.Fatalf("take with an oversized spare kept a slice of capacity %d", cap(q.items))
	}
	q.push(st("6"))
	q.close()
	if ok, gone := q.push(st("7")); ok || !gone {
		t.Fatalf("push after close = ok %v gone %v, want gone", ok, gone)
	}
	items, closed = q.take(nil)
	if len(items) != 1 || items[0].Get("id") != "6" || !closed {
		t.Fatalf("take after close = %d items, closed %v; want the queued one and closed", len(items), closed)
	}
}
