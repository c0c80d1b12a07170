package c2s

// Stream management (XEP-0198) is built into the session's outbound queue.
//
// Numbering: once the writer has written <enabled/>, every stanza it takes
// off the queue gets the next sequence number and stays in the session's
// unacknowledged list until the client's <a h/> covers it; h wraps at 2^32
// (§4), which uint32 arithmetic does. The reader counts the stanzas it
// handles and answers <r/>; the writer asks for an ack (<r/>) whenever it
// flushes with stanzas unacknowledged and no request outstanding, so there
// is at most one request per round trip.
//
// Resumption (§5): when the connection of a resumable session is lost (read
// or write failure, idle timeout, a client too slow to read), the session
// detaches instead of ending. It stays in the directory, available, and its
// writer keeps taking stanzas off the queue into the unacknowledged list.
// The session's reader goroutine waits up to the resume timeout for a new
// stream of the same user to send <resume previd h/> in place of bind. That
// stream's goroutine hands its connection and decoder over and ends; the
// session's writer writes <resumed/>, then every stanza still
// unacknowledged, in order, then what follows. A session resumed while its
// old connection still looks open has that connection ended first with a
// <conflict/> stream error (§5 SHOULD): the new stream interrupts the old
// one's read, the old reader hands over without closing it, and the writer,
// which owns writes to it, finishes it before it switches.
//
// When a session with stream management ends without resuming (timeout,
// clean close, stream error, shutdown), nothing on the list is lost: the
// writer reroutes it as for a resource that went away — messages, with a
// XEP-0203 delay from the domain, to the user's other resources or offline
// storage, requests answered with errors (§5 "before the session state is
// discarded").

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppd/xmppd/stanza"
)

const nsSM = "urn:xmpp:sm:3"

// errHandedOver ends the negotiation of a stream whose connection now serves
// a resumed session.
var errHandedOver = errors.New("c2s: connection handed over to a resumed session")

// An smItem is an unacknowledged stanza and when it was numbered.
type smItem struct {
	st *stanza.Element
	at time.Time
}

// A handoff carries a new connection to the session it resumes. The
// resumed session's reader sends the outcome on result.
type handoff struct {
	conn   net.Conn
	in     *inputReader
	dec    *xml.Decoder
	result chan bool
}

// An attach tells the writer to continue on a new connection.
type attach struct {
	conn    net.Conn
	handled uint32 // the reader's count, for <resumed h/>
}

// streamMgmt is a session's XEP-0198 state.
type streamMgmt struct {
	takeover chan *handoff // capacity 1: a new stream asking to resume

	mu        sync.Mutex
	counting  bool   // <enabled/> written: stanzas are numbered
	id        string // resumption id; "" when the session is not resumable
	unacked   []smItem
	sent      uint32 // number of the last stanza numbered
	acked     uint32 // last h the client sent
	requested bool   // an <r/> is outstanding
	ended     bool   // the session is over; nothing resumes it
	// replaced is the connection a resumption took the session from while
	// it was still open: the writer ends it with <conflict/>.
	replaced net.Conn

	// Written by the reader only; handled is atomic so that a stream
	// failing to resume the session can report it (<failed h/>).
	on      bool // <enable/> accepted
	handled atomic.Uint32
	timeout time.Duration
}

func newStreamMgmt() *streamMgmt {
	return &streamMgmt{takeover: make(chan *handoff, 1)}
}

// resumable reports whether a lost connection detaches the session.
func (m *streamMgmt) resumable() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id != "" && !m.ended
}

// numbering reports whether stanzas are being numbered.
func (m *streamMgmt) numbering() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counting
}

// number puts st on the unacknowledged list when numbering is on. hold
// means st must not be written now (the session is ending: it is rerouted
// with the rest of the list); overflow means the list outgrew max.
func (m *streamMgmt) number(st *stanza.Element, max int) (numbered, hold, overflow bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.counting {
		return false, false, false
	}
	m.sent++
	m.unacked = append(m.unacked, smItem{st: st, at: time.Now()})
	return true, m.ended, len(m.unacked) > max
}

// wantAck reports whether the writer should ask for an ack now, and
// records the request.
func (m *streamMgmt) wantAck() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.counting || m.ended || m.requested || len(m.unacked) == 0 {
		return false
	}
	m.requested = true
	return true
}

// ackLocked drops the stanzas h acknowledges. ok is false, and nothing
// changes, when h acknowledges more than was sent.
func (m *streamMgmt) ackLocked(h uint32) bool {
	n := h - m.acked
	if uint64(n) > uint64(len(m.unacked)) {
		return false
	}
	clear(m.unacked[:n])
	m.unacked = m.unacked[n:]
	m.acked = h
	return true
}

// ack handles <a h/>; it returns the send count when h is too high.
func (m *streamMgmt) ack(h uint32) (sent uint32, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requested = false
	return m.sent, m.ackLocked(h)
}

// takeoverResult is the outcome of a resumption request.
type takeoverResult uint8

const (
	takeoverQueued takeoverResult = iota
	takeoverUnknown
	takeoverTooHigh
)

// requestTakeover validates a <resume/> against this session and queues hf
// for the session's reader.
func (m *streamMgmt) requestTakeover(previd string, h uint32, hf *handoff) (takeoverResult, uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended || m.id == "" || m.id != previd {
		return takeoverUnknown, 0
	}
	if !m.ackLocked(h) {
		return takeoverTooHigh, m.sent
	}
	select {
	case m.takeover <- hf:
		return takeoverQueued, 0
	default:
		return takeoverUnknown, 0 // another stream is resuming it right now
	}
}

// takeoverPending reports whether a new stream waits to resume the session
// (false for nil: a session built without stream management state).
func (m *streamMgmt) takeoverPending() bool { return m != nil && len(m.takeover) > 0 }

// setReplaced records conn as the open connection a resumption replaces.
func (m *streamMgmt) setReplaced(conn net.Conn) {
	m.mu.Lock()
	m.replaced = conn
	m.mu.Unlock()
}

// isReplaced reports whether conn is the open connection a resumption
// replaces.
func (m *streamMgmt) isReplaced(conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return conn != nil && m.replaced == conn
}

// takeReplaced reports whether conn is the open connection a resumption
// replaces, and forgets it.
func (m *streamMgmt) takeReplaced(conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if conn == nil || m.replaced != conn {
		return false
	}
	m.replaced = nil
	return true
}

// end marks the session over: no resumption from now on, a pending one is
// refused, and the id is forgotten. It returns the id ("" if none).
func (m *streamMgmt) end() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = true
	select {
	case hf := <-m.takeover:
		hf.result <- false
	default:
	}
	id := m.id
	m.id = ""
	return id
}

// drain takes the unacknowledged list, for rerouting.
func (m *streamMgmt) drain() []smItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.unacked
	m.unacked = nil
	return items
}

// resumeSnapshot returns what the writer retransmits after <resumed/>,
// and the resumption id.
func (m *streamMgmt) resumeSnapshot() ([]smItem, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requested = false
	return append([]smItem(nil), m.unacked...), m.id
}

// startNumbering is called by the writer as it writes <enabled/>.
func (m *streamMgmt) startNumbering() {
	m.mu.Lock()
	m.counting = true
	m.mu.Unlock()
}

// smFailed is a <failed/> nonza with a stanza error condition and optional
// application-specific element.
func smFailed(cond Condition, app *stanza.Element) *stanza.Element {
	f := stanza.New(nsSM, "failed").Append(stanza.New(stanza.NSStanzas, string(cond)))
	if app != nil {
		f.Append(app)
	}
	return f
}

func handledTooHigh(h, sent uint32) *stanza.Element {
	return stanza.New(nsSM, "handled-count-too-high",
		"h", strconv.FormatUint(uint64(h), 10), "send-count", strconv.FormatUint(uint64(sent), 10))
}

func parseH(v string) (uint32, bool) {
	n, err := strconv.ParseUint(v, 10, 32)
	return uint32(n), err == nil
}

func newSMID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Namespaces a rerouted message is checked or stamped with.
const (
	nsDelay   = "urn:xmpp:delay"     // XEP-0203
	nsCarbons = "urn:xmpp:carbons:2" // XEP-0280
)

// delayed returns msg with a XEP-0203 delay from domain stamped at, unless
// it carries one from domain already. msg itself is not modified.
func delayed(msg *stanza.Element, domain string, at time.Time) *stanza.Element {
	for _, c := range msg.Elements() {
		if c.Name.Space == nsDelay && c.Name.Local == "delay" && c.Get("from") == domain {
			return msg
		}
	}
	c := msg.ShallowCopy()
	d := stanza.New(nsDelay, "delay", "from", domain, "stamp", at.UTC().Format("2006-01-02T15:04:05.000Z"))
	c.Children = append(c.Children[:len(c.Children):len(c.Children)], stanza.Node{Elem: d})
	return c
}

// isCarbonCopy reports whether msg is a XEP-0280 copy made for one resource.
func isCarbonCopy(msg *stanza.Element) bool {
	return msg.Child(nsCarbons, "received") != nil || msg.Child(nsCarbons, "sent") != nil
}

// smFeature advertises stream management after authentication.
func smFeature() *stanza.Element { return stanza.New(nsSM, "sm") }

// handleSM serves the stream management nonzas of a bound stream.
func (s *Session) handleSM(el *stanza.Element) error {
	m := s.sm
	switch el.Name.Local {
	case "enable":
		if m.on {
			s.Send(smFailed(CondUnexpectedRequest, nil))
			return nil
		}
		m.on = true
		m.handled.Store(0)
		enabled := stanza.New(nsSM, "enabled")
		if v := el.Get("resume"); v == "true" || v == "1" {
			m.timeout = s.srv.cfg.resumeTimeout()
			if max, err := strconv.Atoi(el.Get("max")); err == nil && max > 0 && time.Duration(max)*time.Second < m.timeout {
				m.timeout = time.Duration(max) * time.Second
			}
			id := newSMID()
			m.mu.Lock()
			m.id = id
			m.mu.Unlock()
			s.srv.resumable.Store(id, s)
			enabled.Set("id", id)
			enabled.Set("resume", "true")
			enabled.Set("max", strconv.Itoa(int(m.timeout/time.Second)))
		}
		s.srv.m.smEnabled.Inc()
		s.Send(enabled)
	case "r":
		if !m.on {
			s.Send(smFailed(CondUnexpectedRequest, nil))
			return nil
		}
		s.Send(stanza.New(nsSM, "a", "h", strconv.FormatUint(uint64(m.handled.Load()), 10)))
	case "a":
		h, ok := parseH(el.Get("h"))
		if !ok {
			return &streamError{cond: streamInvalidXML, text: "'h' must be an unsigned 32-bit integer"}
		}
		if sent, ok := m.ack(h); !ok {
			return &streamError{cond: streamUndefinedCondition, text: "acknowledged more stanzas than were sent",
				app: handledTooHigh(h, sent)}
		}
	case "resume":
		s.Send(smFailed(CondUnexpectedRequest, nil))
	default:
		return &streamError{cond: streamUnsupportedStanza, text: "unknown stream management element " + el.Name.Local}
	}
	return nil
}

// negotiateSM serves stream management nonzas between authentication and
// bind: <resume/>, or a refusal. done means the connection was handed over.
func (s *Session) negotiateSM(el *stanza.Element, dec *xml.Decoder) (done bool, err error) {
	if el.Name.Local != "resume" {
		return false, s.write(smFailed(CondUnexpectedRequest, nil).AppendXML(nil, stanza.NSClient))
	}
	fail := func(cond Condition, app *stanza.Element) (bool, error) {
		s.srv.m.smResumes.WithLabelValues("failed").Inc()
		return false, s.write(smFailed(cond, app).AppendXML(nil, stanza.NSClient))
	}
	// failKnown fails for a session that exists but cannot be resumed:
	// <failed h/> tells the client which of its stanzas the server
	// handled (XEP-0198 §5), so it knows what to send again.
	failKnown := func(old *Session, cond Condition, app *stanza.Element) (bool, error) {
		s.srv.m.smResumes.WithLabelValues("failed").Inc()
		f := smFailed(cond, app)
		f.Set("h", strconv.FormatUint(uint64(old.sm.handled.Load()), 10))
		return false, s.write(f.AppendXML(nil, stanza.NSClient))
	}
	h, ok := parseH(el.Get("h"))
	if !ok || el.Get("previd") == "" {
		return fail(CondBadRequest, nil)
	}
	v, ok := s.srv.resumable.Load(el.Get("previd"))
	old, _ := v.(*Session)
	if !ok {
		if v, ok := s.srv.ended.Load(el.Get("previd")); ok && v.(endedSM).bare == s.jid.Bare().String() {
			s.srv.m.smResumes.WithLabelValues("failed").Inc()
			f := smFailed(CondItemNotFound, nil)
			f.Set("h", strconv.FormatUint(uint64(v.(endedSM).handled), 10))
			return false, s.write(f.AppendXML(nil, stanza.NSClient))
		}
		return fail(CondItemNotFound, nil)
	}
	if !old.jid.Bare().Equal(s.jid.Bare()) {
		return fail(CondItemNotFound, nil)
	}
	hf := &handoff{conn: s.conn, in: s.in, dec: dec, result: make(chan bool, 1)}
	switch res, sent := old.sm.requestTakeover(el.Get("previd"), h, hf); res {
	case takeoverUnknown:
		return failKnown(old, CondItemNotFound, nil)
	case takeoverTooHigh:
		// The client's state is inconsistent with ours: the old session
		// cannot be resumed; end it so its stanzas are rerouted now.
		old.closeWith(&streamError{cond: streamUndefinedCondition, text: "resumed with a handled count that is too high"})
		return failKnown(old, CondUndefinedCondition, handledTooHigh(h, sent))
	}
	// Interrupt the read of the old connection if it is still being read
	// (the session may have taken this one over already); the old
	// session's reader checks for the takeover before each read and on a
	// timeout, and its writer ends the connection with <conflict/>.
	old.connMu.Lock()
	if old.conn != hf.conn {
		old.sm.setReplaced(old.conn)
		old.conn.SetReadDeadline(time.Now())
	}
	old.connMu.Unlock()
	if !<-hf.result {
		return failKnown(old, CondItemNotFound, nil)
	}
	return true, nil
}

// An endedSM is what a failed resumption of a session that ended tells the
// client: whose it was, and how many of its stanzas the server handled.
type endedSM struct {
	bare    string
	handled uint32
}

// endedMemory is the least time an ended session's handled count is kept.
const endedMemory = 5 * time.Minute

// rememberEnded keeps, for the resume timeout and at least endedMemory, the
// handled count of a resumable session that ended under id, so that a late
// <resume/> gets <failed h/> (XEP-0198 §5) and the client knows what to
// send again.
func (s *Session) rememberEnded(id string) {
	s.srv.ended.Store(id, endedSM{bare: s.jid.Bare().String(), handled: s.sm.handled.Load()})
	time.AfterFunc(max(s.srv.cfg.resumeTimeout(), endedMemory), func() { s.srv.ended.Delete(id) })
}

// shouldDetach reports whether the read loop's end, for err, detaches the
// session rather than ending it.
func (s *Session) shouldDetach(err error) bool {
	if s.sm.takeoverPending() {
		return true
	}
	if !s.sm.resumable() {
		return false
	}
	var se *streamError
	switch {
	case errors.Is(err, errStopped), errors.Is(err, io.EOF):
		return false // closing, or the client closed the stream
	case errors.As(err, &se):
		return se.cond == streamConnectionTimeout
	}
	return true
}

// detach closes the lost connection and waits for a new stream to resume
// the session. It returns true once the session runs on the new connection,
// false when the session must end (resume timeout, closeWith).
func (s *Session) detach() bool {
	select {
	case <-s.stopRead:
		return false
	default:
	}
	s.connMu.Lock()
	if !s.sm.isReplaced(s.conn) { // the writer closes that one
		s.conn.Close()
	}
	s.connMu.Unlock()
	s.log.Info("connection lost; session detached for resumption", "timeout", s.sm.timeout)
	s.srv.m.smDetached.Inc()
	defer s.srv.m.smDetached.Dec()
	t := time.NewTimer(s.sm.timeout)
	defer t.Stop()
	select {
	case hf := <-s.sm.takeover:
		s.adopt(hf)
		return true
	case <-t.C:
		s.log.Info("not resumed in time")
		s.srv.m.smResumes.WithLabelValues("timeout").Inc()
	case <-s.stopRead:
	}
	return false
}

// adopt continues the session on the connection hf brings.
func (s *Session) adopt(hf *handoff) {
	s.connMu.Lock()
	s.conn = hf.conn
	s.connMu.Unlock()
	hf.in.s = s
	s.in, s.dec = hf.in, hf.dec
	s.srv.m.smResumes.WithLabelValues("resumed").Inc()
	s.out.resume(attach{conn: hf.conn, handled: s.sm.handled.Load()})
	hf.result <- true
	s.log.Info("resumed")
}

// dropConn closes the session's current connection so that a resumable
// session detaches (a client that stopped reading).
func (s *Session) dropConn() {
	s.connMu.Lock()
	s.conn.Close()
	s.connMu.Unlock()
}
