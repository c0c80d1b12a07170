package c2s

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// A Session is one client connection. run owns the "run" fields; the
// writer turns own the outWriter; other goroutines reach a session only through
// Send, closeWith and the atomic fields.
type Session struct {
	// Fixed at accept.
	id         string
	srv        *Server
	remoteAddr string
	remoteIP   netip.Addr
	since      time.Time
	directTLS  bool

	// Owned by run (and by the writer once started, for conn writes).
	// After bind conn is replaced only under connMu (stream resumption),
	// which other goroutines hold to reach it.
	conn   net.Conn
	in     *inputReader
	dec    *xml.Decoder
	state  streamState
	secure bool
	jid    jid.JID // full JID after bind
	// jidString is jid.String(), kept: every stanza is stamped with it.
	jidString string
	log       *slog.Logger
	limits    *sessionLimits // rate limits, set when serving stanzas
	held      []byte         // written before the next write; see hold

	// Shared.
	presence   atomic.Int64 // availability and priority, see setPresence
	lastPres   atomic.Pointer[stanza.Element]
	debugUntil atomic.Int64 // unix nanos; debug logging while now < value
	out        outQueue     // started at bind; see outqueue.go
	w          *outWriter   // the writer's state, used only by writer turns
	closeOnce  sync.Once
	aborted    atomic.Bool                 // no more writes: the queue is rerouted instead
	closeErr   atomic.Pointer[streamError] // why the stream ends, set by closeWith
	stopRead   chan struct{}               // closed by closeWith
	writerDone chan struct{}
	slots      sync.Map // feature slot id → value; see Slot
	connMu     sync.Mutex
	sm         *streamMgmt // XEP-0198; see sm.go
	handedOver bool        // owned by run: the connection now serves a resumed session
}

type streamState uint8

const (
	stateOpened streamState = iota
	stateSecured
	stateAuthenticated
	stateBound
	stateClosed
)

func newSession(srv *Server, conn net.Conn, directTLS bool) *Session {
	s := &Session{
		id:         srv.nextID(),
		srv:        srv,
		conn:       conn,
		remoteAddr: conn.RemoteAddr().String(),
		since:      time.Now(),
		directTLS:  directTLS,
		stopRead:   make(chan struct{}),
		writerDone: make(chan struct{}),
		sm:         newStreamMgmt(),
	}
	if ap, err := netip.ParseAddrPort(s.remoteAddr); err == nil {
		s.remoteIP = ap.Addr().Unmap()
	}
	s.log = slog.New(&sessionLogHandler{normal: srv.log.Handler(), debug: srv.debugH, s: s}).
		With("session", s.id, "remote_addr", s.remoteAddr)
	return s
}

// JID returns the session's full JID (zero before bind).
func (s *Session) JID() jid.JID { return s.jid }

// Log returns the session's logger; features log through it so that the
// per-user debug switch covers them.
func (s *Session) Log() *slog.Logger { return s.log }

// Server returns the server the session belongs to.
func (s *Session) Server() *Server { return s.srv }

// Available reports whether the session has sent available presence and
// its priority. Safe for concurrent use.
func (s *Session) Available() (bool, int) {
	v := s.presence.Load()
	return v&1 == 1, int(v >> 1)
}

// LastPresence returns the last undirected available presence the session
// sent, or nil while it is not available. Safe for concurrent use.
func (s *Session) LastPresence() *stanza.Element { return s.lastPres.Load() }

func (s *Session) setPresence(available bool, priority int) {
	v := int64(priority) << 1
	if available {
		v |= 1
	}
	s.presence.Store(v)
}

func (s *Session) debugOn() bool {
	u := s.debugUntil.Load()
	return u != 0 && time.Now().UnixNano() < u
}

func (s *Session) refreshDebug() {
	if s.jid.Domainpart() == "" {
		return
	}
	if u := s.srv.debugUntil(s.jid); u.IsZero() {
		s.debugUntil.Store(0)
	} else {
		s.debugUntil.Store(u.UnixNano())
	}
}

// run serves the connection until it ends, then calls done. It is the
// only reader.
//
// Negotiation (TLS handshake, SASL, bind) runs in the caller's goroutine,
// stanzas in a new one: the handshake's cryptography grows a goroutine's
// stack to 16 KiB, which a session would otherwise keep while it idles for
// hours blocked in a read (stacks shrink only in a garbage collection, and
// an idle server rarely collects). The stanza goroutine grows only to what
// reading and routing need.
func (s *Session) run(done func()) {
	s.srv.m.sessionsActive.WithLabelValues("negotiating").Inc()
	serving := false
	defer func() {
		if serving {
			return // the stanza goroutine finishes the session
		}
		if r := recover(); r != nil {
			s.log.Error("session panic", "panic", r)
			s.closeWith(&streamError{cond: streamInternalServerError})
		}
		s.finish()
		done()
	}()
	s.log.Debug("connected", "direct_tls", s.directTLS)
	if err := s.negotiate(); err != nil {
		if errors.Is(err, errHandedOver) {
			s.handedOver = true
			return
		}
		s.fail(err)
		return
	}
	serving = true
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("session panic", "panic", r)
				s.closeWith(&streamError{cond: streamInternalServerError})
			}
			s.finish()
			done()
		}()
		s.serveStanzas()
	}()
}

// fail closes the stream for err, logging what is worth logging.
func (s *Session) fail(err error) {
	var se *streamError
	switch {
	case errors.As(err, &se):
		if se.cond != streamSystemShutdown && se.cond != streamConflict {
			s.log.Info("stream error", "condition", se.cond, "text", se.text, "err", se.err)
		}
	case isClosedConn(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errStopped):
		se = nil // peer went away, or we are already closing
	default:
		s.log.Info("stream ended", "err", err)
		se = &streamError{cond: streamUndefinedCondition}
	}
	if se != nil {
		s.closeWith(se)
	}
}

// closeWith ends the session: the read loop stops, and the stream is closed
// with se (nil for a plain </stream:stream>) once what is queued is written.
// Safe to call from any goroutine, any number of times; the first reason
// wins.
func (s *Session) closeWith(se *streamError) {
	s.closeOnce.Do(func() {
		if se != nil {
			s.closeErr.Store(se)
			s.srv.m.streamErrors.WithLabelValues(string(se.cond)).Inc()
		}
		close(s.stopRead)
		// Unblock a read in progress; the writer finishes the stream.
		s.connMu.Lock()
		s.conn.SetReadDeadline(time.Now())
		s.connMu.Unlock()
	})
}

// abort closes the connection at once without writing what is queued
// (slow consumer, write failure); queued stanzas are rerouted.
func (s *Session) abort(se *streamError) {
	s.aborted.Store(true)
	s.closeWith(se)
	s.connMu.Lock()
	s.conn.SetWriteDeadline(time.Now())
	s.connMu.Unlock()
}

// finish runs once when the read loop has ended: the session leaves the
// directory, hooks run, the writer drains the queue (to the socket, or
// rerouted when the socket is gone) and the connection closes.
func (s *Session) finish() {
	if s.handedOver {
		// The connection serves another session now: nothing to close.
		s.state = stateClosed
		s.srv.m.sessionsActive.WithLabelValues("negotiating").Dec()
		return
	}
	s.closeWith(nil)
	bound := s.state == stateBound
	if bound {
		if id := s.sm.end(); id != "" {
			s.srv.resumable.Delete(id)
			s.rememberEnded(id)
		}
		s.srv.dir.Unbind(s)
		wasAvailable, _ := s.Available()
		s.setPresence(false, 0)
		s.lastPres.Store(nil)
		ctx := s.traceContext(context.Background())
		if wasAvailable {
			s.broadcastUnavailable(ctx)
		}
		for _, h := range s.srv.reg.onClosed {
			h(ctx, s)
		}
		s.out.close()
		<-s.writerDone
	} else {
		s.writeTrailer()
		s.conn.Close()
	}
	s.state = stateClosed
	s.srv.m.sessionsActive.WithLabelValues(s.metricState(bound)).Dec()
	s.log.Debug("closed")
}

func (s *Session) metricState(bound bool) string {
	if bound {
		return "bound"
	}
	return "negotiating"
}

// writeTrailer writes the stream error, if any, and the closing tag. Used
// directly before the writer exists, and by the writer afterwards.
func (s *Session) writeTrailer() { s.writeTrailerTo(s.conn) }

func (s *Session) writeTrailerTo(conn net.Conn) {
	var b []byte
	if s.held != nil { // only before bind: a stream header not yet sent goes first
		b, s.held = s.held, nil
	}
	if se := s.closeErr.Load(); se != nil {
		b = append(b, se.bytes()...)
	}
	b = append(b, "</stream:stream>"...)
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	conn.Write(b)
}

// Send queues st for delivery to this session. It waits at most the
// slow-consumer grace period for room; if the queue is still full the
// stream is closed with <policy-violation/> and ErrGone returned, so the
// caller reroutes st. Safe for concurrent use.
//
// Presence from another account first passes the InboundFilters; a refused
// one is dropped and Send returns nil, as for presence to no one.
func (s *Session) Send(st *stanza.Element) error {
	if st.Name.Local == "presence" && len(s.srv.reg.inFilters) > 0 && !s.srv.reg.admit(s.jid, s, st) {
		return nil
	}
	ok, gone := s.out.push(st)
	if ok {
		return nil
	}
	if gone {
		return ErrGone
	}
	select {
	case <-s.stopRead:
		return ErrGone
	default:
	}
	t := time.NewTimer(s.srv.cfg.slowConsumerGrace())
	defer t.Stop()
	droppedConn := false
	for {
		select {
		case <-s.out.room:
			// The writer took the backlog; another waiting sender may
			// get there first, then this one waits for the next take.
			if ok, gone := s.out.push(st); ok || gone {
				signal(s.out.room) // pass the turn on to the next waiter
				if gone {
					return ErrGone
				}
				return nil
			}
		case <-s.stopRead:
			return ErrGone
		case <-t.C:
			if !droppedConn && s.sm.resumable() {
				// A client that stopped reading is as good as gone: the
				// session detaches and the writer empties the queue into
				// the unacknowledged list, making room.
				droppedConn = true
				s.dropConn()
				t.Reset(s.srv.cfg.slowConsumerGrace())
				continue
			}
			s.srv.m.slowConsumers.Inc()
			s.log.Info("closing slow consumer", "queued", s.out.len())
			s.abort(&streamError{cond: streamPolicyViolation, text: "too slow to receive"})
			return ErrGone
		}
	}
}

// startWriter opens the outbound queue; called at bind. The writer runs
// whenever the queue has work (see outQueue).
func (s *Session) startWriter() {
	s.w = &outWriter{s: s, conn: s.conn}
	s.out.start(s.srv.cfg.queueLength(), s.writeTurn)
}

// writeTurn is one turn of the writer goroutine: it takes the whole
// backlog, serialises it into one buffer, takes what arrived meanwhile,
// and writes once nothing more is queued (one flush per wake-up, not per
// stanza); then it ends, unless more arrived after all. When the queue is
// closed (finish) it writes the trailer and closes the connection. After a
// write fails it keeps draining the queue and, once the session has left
// the directory (the queue is closed then), reroutes what it could not
// write. With stream management it numbers what it takes off the queue and
// moves to a new connection on resumption (see sm.go).
func (s *Session) writeTurn() {
	w := s.w
	for {
		// A resumption comes first: what the client sends on the new
		// connection (a CSI state, say) follows it.
		a, batch, closed := s.out.take(w.spare)
		if a != nil {
			w.resume(*a)
		}
		w.pending = len(batch)
		for i, st := range batch {
			batch[i] = nil
			w.pending--
			w.put(st)
		}
		w.spare = batch
		if closed {
			w.end()
			close(s.writerDone)
			return
		}
		if len(batch) > 0 || a != nil {
			continue // take what arrived while writing before flushing
		}
		w.flushIdle()
		w.releaseBuffer()
		if s.out.stopIfIdle() {
			return
		}
	}
}

// outWriter is the writer's state, kept between turns.
type outWriter struct {
	s       *Session
	spare   []*stanza.Element // the last batch, emptied, for reuse
	conn    net.Conn
	out     []byte            // serialised stanzas not yet written; nil between bursts
	pending int               // stanzas of the batch being written still to come
	dead    bool              // a write to conn failed
	unsent  []*stanza.Element // not numbered and not written: rerouted at the end
	csi     csiHeld           // XEP-0352; see csi.go

	deadlineSet time.Time // when the write deadline was last moved
}

// outFlushSize is the buffered amount at which send writes without
// waiting for the end of the batch.
const outFlushSize = 16 << 10

// outBuffers recycles write buffers between bursts, so an idle session
// holds none. Buffers that grew past maxPooledBuffer are left to the GC.
var outBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledBuffer = 64 << 10

// buffer returns the write buffer, taking one from the pool if needed.
func (w *outWriter) buffer() []byte {
	if w.out == nil {
		w.out = (*outBuffers.Get().(*[]byte))[:0]
	}
	return w.out
}

// releaseBuffer returns an empty write buffer to the pool.
func (w *outWriter) releaseBuffer() {
	if w.out == nil || len(w.out) > 0 {
		return
	}
	if cap(w.out) <= maxPooledBuffer {
		b := w.out
		outBuffers.Put(&b)
	}
	w.out = nil
}

// put takes st off the queue: client state indication may hold it (see
// csi.go), otherwise it is sent.
func (w *outWriter) put(st *stanza.Element) {
	if w.csiPut(st) {
		return
	}
	w.send(st)
}

// send numbers and writes st, or keeps it for rerouting when it cannot be
// written.
func (w *outWriter) send(st *stanza.Element) {
	s := w.s
	if w.unsent != nil {
		w.unsent = append(w.unsent, st)
		return
	}
	nonza := st.Name.Space == nsSM
	if nonza && st.Name.Local == "enabled" {
		s.sm.startNumbering()
	}
	numbered, hold := false, false
	if !nonza {
		var overflow bool
		numbered, hold, overflow = s.sm.number(st, s.srv.cfg.maxUnacked())
		if overflow {
			s.log.Info("closing: too many unacknowledged stanzas")
			s.abort(&streamError{cond: streamPolicyViolation, text: "too many unacknowledged stanzas"})
			hold = true
		}
	}
	if w.dead || hold {
		// Numbered stanzas wait on the unacknowledged list for a
		// resumption or the final reroute; nonzas die with the stream.
		if !numbered && !nonza {
			w.unsent = append(w.unsent, st)
		}
		return
	}
	start := len(w.buffer())
	w.out = st.AppendXML(w.out, stanza.NSClient)
	if s.debugOn() {
		s.log.Debug("send", "xml", string(w.out[start:]))
	}
	var err error
	if len(w.out) >= outFlushSize {
		err = w.writeOut()
	}
	if err != nil {
		w.lost(st, numbered || nonza)
		return
	}
	if !nonza {
		s.srv.m.out.of(st.Name.Local).Inc()
	}
}

// flush writes what is buffered, asking for an ack first when stream
// management wants one.
func (w *outWriter) flush() error {
	if w.s.sm.wantAck() {
		w.out = append(w.buffer(), "<r xmlns='"+nsSM+"'/>"...)
	}
	return w.writeOut()
}

// writeOut writes what is buffered to the connection.
func (w *outWriter) writeOut() error {
	if len(w.out) == 0 {
		return nil
	}
	_, err := w.writeConn(w.out)
	w.out = w.out[:0]
	return err
}

// lost handles a failed write. kept says st needs no rerouting by the
// writer (it is on the unacknowledged list, or a nonza).
func (w *outWriter) lost(st *stanza.Element, kept bool) {
	s := w.s
	w.dead = true
	if s.sm.resumable() {
		w.conn.Close() // the reader notices and detaches the session
		return
	}
	if !kept {
		// The stanza may or may not have reached the client: without
		// stream management we cannot know, so we reroute it rather
		// than risk losing it.
		w.unsent = append(w.unsent, st)
	}
	s.abort(nil)
}

// resume continues on a new connection: <resumed/>, then every stanza
// still unacknowledged, in order.
func (w *outWriter) resume(a attach) {
	s := w.s
	if s.sm.takeReplaced(w.conn) && !w.dead {
		// The old connection was still open: tell its client why it
		// ends (XEP-0198 §5). What is buffered goes first so that the
		// error does not land inside a stanza.
		if w.writeOut() == nil {
			b := (&streamError{cond: streamConflict, text: "the session was resumed on another connection"}).bytes()
			w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			w.conn.Write(append(b, "</stream:stream>"...))
		}
	}
	w.conn.Close() // the old connection
	w.conn, w.dead = a.conn, false
	w.out = w.buffer()[:0] // what was not written to the old connection is resent below or rerouted
	w.deadlineSet = time.Time{}
	items, id := s.sm.resumeSnapshot()
	w.out = stanza.New(nsSM, "resumed", "h", strconv.FormatUint(uint64(a.handled), 10), "previd", id).
		AppendXML(w.out, stanza.NSClient)
	var err error
	for _, it := range items {
		if len(w.out) >= outFlushSize {
			if err = w.writeOut(); err != nil {
				break
			}
		}
		w.out = it.st.AppendXML(w.out, stanza.NSClient)
	}
	if err != nil {
		w.lost(nil, true)
		return
	}
	w.csiResumed()
	w.flushIdle()
}

// end runs when the queue is closed: the stream is finished if it still
// can be, and what was not delivered is rerouted.
func (w *outWriter) end() {
	s := w.s
	w.csiEnd()
	items := s.sm.drain()
	if w.unsent == nil && !w.dead {
		w.writeOut()
		s.writeTrailerTo(w.conn)
	}
	w.out = w.out[:0]
	w.releaseBuffer()
	w.conn.Close()
	now := time.Now()
	for _, st := range w.unsent {
		s.reroute(st, now)
	}
	for _, it := range items {
		s.reroute(it.st, it.at)
	}
}

var errAborted = errors.New("c2s: session aborted")

// writeTimeout bounds one write to a client; writeDeadlineSlack is how
// stale the deadline may get before a write moves it (moving it costs a
// timer update, so a busy writer does it about once a second, not once per
// write: a write then has between writeTimeout−slack and writeTimeout).
const (
	writeTimeout       = 30 * time.Second
	writeDeadlineSlack = time.Second
)

func (w *outWriter) writeConn(p []byte) (int, error) {
	if w.s.aborted.Load() {
		return 0, errAborted
	}
	if now := time.Now(); now.Sub(w.deadlineSet) >= writeDeadlineSlack {
		w.conn.SetWriteDeadline(now.Add(writeTimeout))
		w.deadlineSet = now
	}
	return w.conn.Write(p)
}

// reroute handles a stanza that was queued for this session but could not
// be written, or was never acknowledged (XEP-0198): messages go to the
// user's other resources or offline storage as if this resource had never
// been there, with a XEP-0203 delay stamped at queued (the client may have
// seen them already); requests are answered with an error so the sender is
// not left waiting; the rest is dropped as for any resource that goes away.
// Carbon copies only mattered to this resource and are dropped.
func (s *Session) reroute(st *stanza.Element, queued time.Time) {
	ctx := s.traceContext(context.Background())
	switch st.Name.Local {
	case "message":
		if isCarbonCopy(st) {
			return
		}
		s.srv.m.rerouted.Inc()
		s.srv.routeMessageToBare(ctx, nil, delayed(st, s.srv.domain.String(), queued), s.jid.Bare())
	case "iq":
		if t := st.Get("type"); t == "get" || t == "set" {
			s.srv.bounce(ctx, st, RecipientUnavailable(""))
		}
	}
}

func isClosedConn(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
