package c2s

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/xmppd/xmppd/stanza"
)

var (
	errTooLarge   = errors.New("c2s: stanza exceeds the size limit")
	errStopped    = errors.New("c2s: session closing")
	errIdle       = errors.New("c2s: idle connection did not answer a ping")
	errAuthExpiry = errors.New("c2s: not authenticated in time")
	errTakenOver  = errors.New("c2s: session resumed on another connection")
)

// pingTimeout is how long a client has to answer the server's ping once its
// connection has been idle.
const pingTimeout = 30 * time.Second

// inputReader sits between the connection and the XML decoder. It bounds
// how many bytes one stanza may use before it is parsed (so a huge stanza
// is refused before it is buffered), enforces the authentication deadline,
// and turns an idle read timeout into a ping and a second timeout into
// connection-timeout — without ever handing the decoder a timeout error,
// which would poison it.
type inputReader struct {
	s        *Session
	conn     net.Conn
	budget   int64 // bytes that may still be read before the current item must end
	deadline time.Time
	pinged   bool
	total    int64 // bytes read, for metrics and rate limits

	// ahead is the decoder's read-ahead: ReadByte makes the reader an
	// io.ByteReader, so xml.Decoder reads from it directly instead of
	// wrapping it in a 4 KiB bufio.Reader (new at every stream restart).
	// Small, because every idle session keeps it while blocked in a read;
	// a TLS connection holds the rest of a record in its own buffer, so a
	// small read costs a copy, not a system call.
	ahead      []byte
	head, tail int // unread bytes are ahead[head:tail]
}

// readAhead is the size of inputReader.ahead.
const readAhead = 512

// slack covers the decoder's read-ahead past the item being measured.
const slack = readAhead

func newInputReader(s *Session, conn net.Conn) *inputReader {
	r := &inputReader{s: s, conn: conn}
	r.resetBudget()
	return r
}

// resetBudget is called at every top-level item boundary.
func (r *inputReader) resetBudget() {
	r.budget = int64(r.s.srv.cfg.maxStanzaBytes()) + slack
}

func (r *inputReader) Read(p []byte) (int, error) {
	if r.budget <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > r.budget {
		p = p[:r.budget]
	}
	for {
		select {
		case <-r.s.stopRead:
			return 0, errStopped
		default:
		}
		r.setDeadline()
		if r.s.sm.takeoverPending() {
			// After setDeadline: a takeover queued from now on sets
			// the read deadline to the past after this did.
			return 0, errTakenOver
		}
		n, err := r.conn.Read(p)
		if n > 0 {
			r.budget -= int64(n)
			r.total += int64(n)
			r.pinged = false
			return n, nil
		}
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			return n, err
		}
		select {
		case <-r.s.stopRead:
			return 0, errStopped
		default:
		}
		if r.s.sm.takeoverPending() {
			return 0, errTakenOver // a resumption interrupted this read
		}
		if r.s.state < stateAuthenticated {
			return 0, errAuthExpiry
		}
		if r.s.state != stateBound || r.pinged {
			return 0, errIdle
		}
		r.pinged = true
		r.deadline = time.Now().Add(pingTimeout)
		r.conn.SetReadDeadline(r.deadline)
		r.s.sendPing()
	}
}

// ReadByte returns the next byte, reading ahead up to readAhead bytes.
func (r *inputReader) ReadByte() (byte, error) {
	if r.head == r.tail {
		if r.ahead == nil {
			r.ahead = make([]byte, readAhead)
		}
		n, err := r.Read(r.ahead)
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return 0, err
		}
		r.head, r.tail = 0, n
	}
	c := r.ahead[r.head]
	r.head++
	return c, nil
}

// setDeadline keeps the read deadline current at most once a second.
func (r *inputReader) setDeadline() {
	var want time.Time
	switch {
	case r.s.state < stateAuthenticated:
		want = r.s.since.Add(r.s.srv.cfg.authTimeout())
	case r.pinged:
		return
	default:
		want = time.Now().Add(r.s.srv.cfg.idleTimeout())
	}
	if d := want.Sub(r.deadline); d > time.Second || d < -time.Second {
		r.deadline = want
		r.conn.SetReadDeadline(want)
	}
}

// sendPing asks an idle client whether it is still there (XEP-0199). Any
// traffic from the client counts as the answer.
func (s *Session) sendPing() {
	iq := stanza.New(stanza.NSClient, "iq", "type", "get", "id", "srv-ping-"+s.srv.nextID(),
		"from", s.srv.domain.String(), "to", s.jid.String())
	iq.Append(stanza.New(nsPing, "ping"))
	s.Send(iq)
}
