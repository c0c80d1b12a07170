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
	starts := make(chan struct{}, 10)
	q.start(3, func() { starts <- struct{}{} })
	for _, id := range []string{"1", "2", "3"} {
		if ok, gone := q.push(st(id)); !ok || gone {
			t.Fatalf("push %s = ok %v gone %v", id, ok, gone)
		}
	}
	if ok, gone := q.push(st("4")); ok || gone {
		t.Fatalf("push beyond the limit = ok %v gone %v, want full", ok, gone)
	}
	<-starts // the first push started a writer; the others found it running
	if q.stopIfIdle() {
		t.Fatal("stopIfIdle with three stanzas queued")
	}
	a, items, closed := q.take(nil)
	if a != nil || len(items) != 3 || closed || items[0].Get("id") != "1" || items[2].Get("id") != "3" {
		t.Fatalf("take = %v, %d items (closed %v), want 1, 2, 3 in order", a, len(items), closed)
	}
	select {
	case <-q.room:
	default:
		t.Fatal("taking the backlog did not signal room to waiting senders")
	}
	if !q.stopIfIdle() {
		t.Fatal("stopIfIdle on an empty queue did not stop the writer")
	}
	select {
	case <-starts:
		t.Fatal("a writer started for every push: one is enough until it stops")
	default:
	}

	// The taken slice comes back as spare; a large one is not kept.
	clear(items)
	q.push(st("5"))
	<-starts // the queue was idle: a new writer
	if _, got, _ := q.take(make([]*stanza.Element, 0, spareCap+1)); len(got) != 1 || cap(q.items) != 0 {
		t.Fatalf("take with an oversized spare kept a slice of capacity %d", cap(q.items))
	}
	q.resume(attach{handled: 7})
	q.push(st("6"))
	q.close()
	if ok, gone := q.push(st("7")); ok || !gone {
		t.Fatalf("push after close = ok %v gone %v, want gone", ok, gone)
	}
	if q.stopIfIdle() {
		t.Fatal("stopIfIdle with a resumption, a stanza and the close pending")
	}
	a, items, closed = q.take(nil)
	if a == nil || a.handled != 7 || len(items) != 1 || items[0].Get("id") != "6" || !closed {
		t.Fatalf("take after close = %v, %d items, closed %v; want the resumption, the queued stanza and closed", a, len(items), closed)
	}
	select {
	case <-starts:
		t.Fatal("resume and close started a second writer while one ran")
	default:
	}
}
