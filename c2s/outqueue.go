package c2s

import (
	"sync"

	"github.com/xmppd/xmppd/stanza"
)

// outQueue is a session's outbound queue: Send appends, the writer takes
// everything queued at once and writes it with one flush.
//
// The writer goroutine runs only while there is work: the push that finds
// the queue idle starts it, and it ends once it has written everything and
// found nothing new. An idle session thus keeps no writer goroutine and no
// writer stack (a goroutine that once wrote through TLS keeps a stack of
// 8–16 KiB until a garbage collection shrinks it). A resumption (XEP-0198)
// and the end of the session reach the writer the same way.
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
	open   bool    // set by start; pushes before it find the session gone
	closed bool    // set by close; the writer ends the session's output
	attach *attach // a resumption the writer has not taken yet
	// running says a writer goroutine is on its way or at work; whoever
	// sets it starts one, and only the writer clears it (stopIfIdle).
	running bool
	writer  func() // the writer goroutine's body

	// room (capacity 1) tells one sender waiting for room that the writer
	// took the backlog.
	room chan struct{}
}

// spareCap bounds the slice the writer hands back for reuse: a burst that
// grew the queue beyond it leaves a new small slice behind, so an idle
// session never keeps a large one.
const spareCap = 32

// start opens the queue; writer is run in a goroutine of its own whenever
// work arrives at an idle queue.
func (q *outQueue) start(limit int, writer func()) {
	q.mu.Lock()
	q.limit, q.open, q.writer = limit, true, writer
	q.room = make(chan struct{}, 1)
	q.mu.Unlock()
}

// wakeLocked starts the writer unless it runs; q.mu is held.
func (q *outQueue) wakeLocked() {
	if !q.running {
		q.running = true
		go q.writer()
	}
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
	q.items = append(q.items, st)
	q.wakeLocked()
	q.mu.Unlock()
	return true, false
}

// resume hands the writer a new connection (XEP-0198 resumption); it is
// taken before anything queued after it.
func (q *outQueue) resume(a attach) {
	q.mu.Lock()
	q.attach = &a
	q.wakeLocked()
	q.mu.Unlock()
}

// take returns a pending resumption, everything queued (oldest first) and
// whether the queue is closed; spare (emptied) becomes the queue's next
// backing slice. Only the writer calls it.
func (q *outQueue) take(spare []*stanza.Element) (a *attach, items []*stanza.Element, closed bool) {
	if cap(spare) > spareCap {
		spare = nil
	}
	q.mu.Lock()
	a, items, closed = q.attach, q.items, q.closed
	q.attach = nil
	q.items = spare[:0]
	q.mu.Unlock()
	if len(items) > 0 {
		signal(q.room)
	}
	return a, items, closed
}

// stopIfIdle ends the writer's turn when nothing is waiting: it reports
// true, and the next push starts a new writer. Only the writer calls it.
func (q *outQueue) stopIfIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || q.attach != nil || q.closed {
		return false
	}
	q.running = false
	return true
}

// len returns the number of stanzas waiting.
func (q *outQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// close makes further pushes fail; the writer still takes what is queued,
// then ends the session's output.
func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.wakeLocked()
	q.mu.Unlock()
}

// signal does a non-blocking send on a capacity-1 channel: a signal
// already pending covers this one.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
