// Package debugtrace fans the log records of debugged sessions out to live
// watchers: the trace behind GET /api/v1/debug/{jid}/stream.
//
// The c2s server logs a session through its debug handler while that
// session's debug switch is on (raw XML in and out, routing decisions,
// what features log on the session's logger). Hub.Handler wraps that
// handler: every record still goes to the wrapped handler (stderr), and is
// also published to the watchers of the session's JID, taken from the
// record's "jid" attribute (a full JID, set by c2s after resource binding).
// A watcher of a bare JID sees every session of that account; a watcher of
// a full JID sees that one session. Records without a jid attribute (a
// session before bind) reach no watcher.
//
// Work done on a session's behalf away from its logger (storage calls)
// joins the trace through the context: see WithLogger and Logger.
//
// Publishing never blocks a session: each watcher has a bounded queue, and
// a record that does not fit is dropped and counted; the next record the
// watcher reads carries the number dropped just before it (Event.Dropped),
// so the reader can show a "dropped N" marker where the gap is. With no
// watcher at all, publishing costs one atomic load.
//
// Metrics: xmppd_debugtrace_watchers (gauge), xmppd_debugtrace_events_total
// (records queued to a watcher) and xmppd_debugtrace_dropped_total
// (records dropped for a slow watcher).
package debugtrace

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"
)

// DefaultBuffer is the queue length of a watcher when Watch is given none.
const DefaultBuffer = 1024

// An Event is one published log record as a watcher sees it.
type Event struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Message string         `json:"msg"`
	JID     string         `json:"jid"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	// Dropped is how many records this watcher lost, for a full queue,
	// right before this one.
	Dropped int `json:"dropped,omitempty"`
}

// A Hub is the set of watchers. It is safe for concurrent use.
type Hub struct {
	mu       sync.Mutex
	watchers map[string]map[*Watcher]struct{} // bare or full JID → watchers
	n        atomic.Int64

	mWatchers prometheus.Gauge
	mEvents   prometheus.Counter
	mDropped  prometheus.Counter
}

// New returns a Hub with its metrics registered on reg.
func New(reg prometheus.Registerer) (*Hub, error) {
	h := &Hub{
		watchers: map[string]map[*Watcher]struct{}{},
		mWatchers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xmppd_debugtrace_watchers",
			Help: "Live debug trace watchers connected.",
		}),
		mEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_debugtrace_events_total",
			Help: "Debug log records queued to a live trace watcher.",
		}),
		mDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xmppd_debugtrace_dropped_total",
			Help: "Debug log records dropped because a trace watcher's queue was full.",
		}),
	}
	for _, c := range []prometheus.Collector{h.mWatchers, h.mEvents, h.mDropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("debugtrace: metrics: %w", err)
		}
	}
	return h, nil
}

// Watch starts a watcher of target, a bare JID (every session of the
// account) or a full JID (one session), with a queue of buffer records
// (DefaultBuffer when buffer <= 0). The caller must Close it.
func (h *Hub) Watch(target string, buffer int) (*Watcher, error) {
	j, err := jid.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("debugtrace: watch %q: %w", target, err)
	}
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	w := &Watcher{hub: h, key: j.String(), max: buffer, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	set := h.watchers[w.key]
	if set == nil {
		set = map[*Watcher]struct{}{}
		h.watchers[w.key] = set
	}
	set[w] = struct{}{}
	h.mu.Unlock()
	h.n.Add(1)
	h.mWatchers.Inc()
	return w, nil
}

// publish queues ev to the watchers of full and of its bare JID.
func (h *Hub) publish(full jid.JID, ev Event) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range []string{full.String(), full.Bare().String()} {
		for w := range h.watchers[key] {
			if w.offer(ev) {
				h.mEvents.Inc()
			} else {
				h.mDropped.Inc()
			}
		}
		if full.Resourcepart() == "" {
			break // a bare JID: one key
		}
	}
}

// A Watcher receives the records published for its JID.
type Watcher struct {
	hub   *Hub
	key   string
	max   int
	ready chan struct{} // a token while queue is non-empty or dropped > 0

	mu      sync.Mutex
	queue   []Event
	dropped int // since the last queued event
	closed  bool
}

// offer queues ev, or counts it dropped when the queue is full. It never
// blocks.
func (w *Watcher) offer(ev Event) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return true
	}
	if len(w.queue) >= w.max {
		w.dropped++
		return false
	}
	ev.Dropped, w.dropped = w.dropped, 0
	w.queue = append(w.queue, ev)
	select {
	case w.ready <- struct{}{}:
	default:
	}
	return true
}

// Ready is signalled when Next has something to return.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Next returns the queued events, oldest first, and how many records were
// dropped after the last of them (none queued since). It does not block;
// wait on Ready between calls.
func (w *Watcher) Next() (events []Event, droppedAfter int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	events, w.queue = w.queue, nil
	droppedAfter, w.dropped = w.dropped, 0
	return events, droppedAfter
}

// Close stops the watcher. It is safe to call more than once.
func (w *Watcher) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	h := w.hub
	h.mu.Lock()
	delete(h.watchers[w.key], w)
	if len(h.watchers[w.key]) == 0 {
		delete(h.watchers, w.key)
	}
	h.mu.Unlock()
	h.n.Add(-1)
	h.mWatchers.Dec()
}

// Handler returns a handler that passes every record to next and publishes
// it to the watchers of its "jid" attribute. Give it to c2s as the debug
// handler.
func (h *Hub) Handler(next slog.Handler) slog.Handler {
	return &handler{hub: h, next: next}
}

type handler struct {
	hub    *Hub
	next   slog.Handler
	prefix string      // group prefix for later attributes, "a.b."
	attrs  []slog.Attr // from WithAttrs, keys qualified
	jid    jid.JID     // from a "jid" attribute, zero if none
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.next.Handle(ctx, r)
	if h.jid.Domainpart() == "" || h.hub.n.Load() == 0 {
		return err
	}
	ev := Event{Time: r.Time, Level: r.Level.String(), Message: r.Message, JID: h.jid.String(),
		Attrs: make(map[string]any, len(h.attrs)+r.NumAttrs())}
	for _, a := range h.attrs {
		addAttr(ev.Attrs, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(ev.Attrs, h.prefix, a)
		return true
	})
	h.hub.publish(h.jid, ev)
	return err
}

// addAttr flattens a into m, groups as dotted keys.
func addAttr(m map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(m, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	switch v.Kind() {
	case slog.KindAny:
		if e, ok := v.Any().(error); ok {
			m[prefix+a.Key] = e.Error()
			return
		}
		m[prefix+a.Key] = fmt.Sprint(v.Any())
	case slog.KindTime:
		m[prefix+a.Key] = v.Time()
	default:
		m[prefix+a.Key] = v.Any()
	}
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		if a.Key == "jid" && h.prefix == "" {
			if j, err := jid.Parse(a.Value.String()); err == nil {
				c.jid = j
			}
		}
		c.attrs = append(c.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}
