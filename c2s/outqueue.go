package c2s

import (
	"sync"

	"github.com/xmppd/xmppd/stanza"
)

// outQueue is a session's outbound queue: Send appends, the writer takes
// everything queued at once and writes it with one flush.
//
// It is a slice under a mutex rather than a buffered channel because a
// channel allocates its whole buffer up front — c2s.queue_length pointers,
// 8 KiB at the default, for every session whether it ever receives
// anything or not — while this slice grows only while stanzas wait and is
// recycled small once the writer has taken them. Taking the whole backlog
// at once is also what lets the writer flush once per wake-up.
type outQueue struct {
	mu     sync.Mutex
	items  []*stanza.Element
	limit  int
	open   bool // set by start; pushes before it find the session gone
	closed bool

	// wake (capacity 1) tells the writer that items arrived in an empty
	// queue, or that the queue closed. room (capacity 1) tells one sender
	// waiting for room that the writer took the backlog.
	wake chan struct{}
	room chan struct{}
}

// spareCap bounds the slice the writer hands back for reuse: a burst that
// grew the queue beyond it leaves a new small slice behind, so an idle
// session never keeps a large one.
const spareCap = 32

func (q *outQueue) start(limit int) {
	q.mu.Lock()
	q.limit, q.open = limit, true
	q.wake = make(chan struct{}, 1)
	q.room = make(chan struct{}, 1)
	q.mu.Unlock()
}

// push appends st. It reports false when the queue is full, and gone when
// the queue was never started or is closed (st is not queued either way).
func (q *outQueue) push(st *stanza.Element) (ok, gone bool) {
	q.mu.Lock()
	if !q.open || q.closed {
		q.mu.Unlock()
		return false, true
	}
	if len(q.items) >= q.limit {
		q.mu.Unlock()
		return false, false
	}
	first := len(q.items) == 0
	q.items = append(q.items, st)
	q.mu.Unlock()
	if first {
		// A non-empty queue has a wake-up pending or being served: the
		// writer takes everything when it runs.
		signal(q.wake)
	}
	return true, false
}

// take returns everything queued, oldest first, and whether the queue is
// closed; spare (emptied) becomes the queue's next backing slice.
func (q *outQueue) take(spare []*stanza.Element) (items []*stanza.Element, closed bool) {
	if cap(spare) > spareCap {
		spare = nil
	}
	q.mu.Lock()
	items, closed = q.items, q.closed
	q.items = spare[:0]
	q.mu.Unlock()
	if len(items) > 0 {
		signal(q.room)
	}
	return items, closed
}

// len returns the number of stanzas waiting.
func (q *outQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// close makes further pushes fail; the writer still takes what is queued.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.wake)
}

// signal does a non-blocking send on a capacity-1 channel: a signal
// already pending covers this one.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
