package c2s

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// A Session is one client connection. run owns the "run" fields; writeLoop
// owns the buffered writer; other goroutines reach a session only through
// Send, closeWith and the atomic fields.
type Session struct {
	// Fixed at accept.
	id         string
	srv        *Server
	remoteAddr string
	remoteIP   netip.Addr
	since      time.Time
	directTLS  bool

	// Owned by run (and by writeLoop once started, for conn writes).
	conn   net.Conn
	in     *inputReader
	dec    *xml.Decoder
	state  streamState
	secure bool
	jid    jid.JID // full JID after bind
	log    *slog.Logger

	// Shared.
	presence   atomic.Int64 // availability and priority, see setPresence
	lastPres   atomic.Pointer[stanza.Element]
	debugUntil atomic.Int64 // unix nanos; debug logging while now < value
	out        chan *stanza.Element
	sendMu     sync.RWMutex // held for reading while enqueueing; for writing to close out
	sendClosed bool         // guarded by sendMu
	closeOnce  sync.Once
	aborted    atomic.Bool                 // no more writes: the queue is rerouted instead
	closeErr   atomic.Pointer[streamError] // why the stream ends, set by closeWith
	stopRead   chan struct{}               // closed by closeWith
	writerDone chan struct{}
	slots      sync.Map // feature slot id → value; see Slot
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

// run serves the connection until it ends. It is the only reader.
func (s *Session) run() {
	s.srv.m.sessionsActive.WithLabelValues("negotiating").Inc()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("session panic", "panic", r)
			s.closeWith(&streamError{cond: streamInternalServerError})
		}
		s.finish()
	}()
	s.log.Debug("connected", "direct_tls", s.directTLS)
	if err := s.negotiate(); err != nil {
		s.fail(err)
		return
	}
	s.serveStanzas()
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
		s.conn.SetReadDeadline(time.Now())
	})
}

// abort closes the connection at once without writing what is queued
// (slow consumer, write failure); queued stanzas are rerouted.
func (s *Session) abort(se *streamError) {
	s.aborted.Store(true)
	s.closeWith(se)
	s.conn.SetWriteDeadline(time.Now())
}

// finish runs once when the read loop has ended: the session leaves the
// directory, hooks run, the writer drains the queue (to the socket, or
// rerouted when the socket is gone) and the connection closes.
func (s *Session) finish() {
	s.closeWith(nil)
	bound := s.state == stateBound
	if bound {
		s.srv.dir.Unbind(s)
		wasAvailable, _ := s.Available()
		s.setPresence(false, 0)
		s.lastPres.Store(nil)
		ctx := context.Background()
		if wasAvailable {
			s.broadcastUnavailable(ctx)
		}
		for _, h := range s.srv.reg.onClosed {
			h(ctx, s)
		}
		s.sendMu.Lock()
		s.sendClosed = true
		s.sendMu.Unlock()
		close(s.out)
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
func (s *Session) writeTrailer() {
	var b []byte
	if se := s.closeErr.Load(); se != nil {
		b = se.bytes()
	}
	b = append(b, "</stream:stream>"...)
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	s.conn.Write(b)
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
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.sendClosed || s.out == nil {
		return ErrGone
	}
	select {
	case s.out <- st:
		return nil
	default:
	}
	select {
	case <-s.stopRead:
		return ErrGone
	default:
	}
	t := time.NewTimer(s.srv.cfg.slowConsumerGrace())
	defer t.Stop()
	select {
	case s.out <- st:
		return nil
	case <-s.stopRead:
		return ErrGone
	case <-t.C:
		s.srv.m.slowConsumers.Inc()
		s.log.Info("closing slow consumer", "queued", len(s.out))
		s.abort(&streamError{cond: streamPolicyViolation, text: "too slow to receive"})
		return ErrGone
	}
}

// startWriter creates the outbound queue and its writer; called at bind.
func (s *Session) startWriter() {
	s.out = make(chan *stanza.Element, s.srv.cfg.queueLength())
	go s.writeLoop()
}

// writeLoop writes queued stanzas, flushing whenever the queue runs empty.
// When the queue is closed (finish) it writes the trailer and closes the
// connection. After a write fails it keeps draining the queue and, once the
// session has left the directory (the queue is closed then), reroutes what
// it could not write.
func (s *Session) writeLoop() {
	defer close(s.writerDone)
	w := bufio.NewWriterSize(writerFunc(s.writeConn), 8<<10)
	var buf []byte
	var unsent []*stanza.Element
	for st := range s.out {
		if unsent != nil {
			unsent = append(unsent, st)
			continue
		}
		buf = st.AppendXML(buf[:0], stanza.NSClient)
		if s.debugOn() {
			s.log.Debug("send", "xml", string(buf))
		}
		_, err := w.Write(buf)
		if err == nil && len(s.out) == 0 {
			err = w.Flush()
		}
		if err != nil {
			// The stanza may or may not have reached the client: without
			// stream management we cannot know, so we reroute it rather
			// than risk losing it.
			unsent = append(unsent, st)
			s.abort(nil)
			continue
		}
		s.srv.m.stanzasOut.WithLabelValues(st.Name.Local).Inc()
	}
	if unsent == nil {
		w.Flush()
		s.writeTrailer()
	}
	s.conn.Close()
	for _, st := range unsent {
		s.reroute(st)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var errAborted = errors.New("c2s: session aborted")

func (s *Session) writeConn(p []byte) (int, error) {
	if s.aborted.Load() {
		return 0, errAborted
	}
	s.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return s.conn.Write(p)
}

// reroute handles a stanza that was queued for this session but could not
// be written: messages go to the user's other resources or offline storage
// as if this resource had never been there; requests are answered with an
// error so the sender is not left waiting; the rest is dropped as for any
// resource that goes away.
func (s *Session) reroute(st *stanza.Element) {
	ctx := context.Background()
	switch st.Name.Local {
	case "message":
		s.srv.m.rerouted.Inc()
		s.srv.routeMessageToBare(ctx, nil, st, s.jid.Bare())
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
