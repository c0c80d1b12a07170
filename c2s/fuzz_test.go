package c2s

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// bytesConn is a net.Conn that reads from a fixed input and discards
// writes; deadlines are accepted and ignored.
type bytesConn struct{ r *bytes.Reader }

func (c bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c bytesConn) Close() error                     { return nil }
func (c bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c bytesConn) SetDeadline(time.Time) error      { return nil }
func (c bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c bytesConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzStreamDecoder feeds arbitrary bytes to a bound session's stream
// reader, as a client would after the stream header: it must never panic,
// every failure must be a stream error (or the end of the stream), and
// every element it accepts must encode to XML it accepts again.
func FuzzStreamDecoder(f *testing.F) {
	f.Add([]byte(`<message to='a@localhost'><body>hi</body></message> <iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`))
	f.Add([]byte(`<presence><priority>5</priority></presence></stream:stream>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><message>&a;</message>`))
	f.Add([]byte("<message>\xff\xfe</message>"))
	f.Add([]byte(`<a><b><c><d><e><f><g><h/></g></f></e></d></c></b></a>`))
	srv := &Server{cfg: Config{MaxStanzaBytes: 10000, MaxDepth: 8}}
	f.Fuzz(func(t *testing.T, input []byte) {
		s := &Session{srv: srv, state: stateBound, stopRead: make(chan struct{}), jid: jid.MustParse("a@localhost/r"), jidString: "a@localhost/r"}
		conn := bytesConn{r: bytes.NewReader(append([]byte(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`), input...))}
		s.in = newInputReader(s, conn)
		dec := s.newDecoder()
		if _, err := readStreamStart(dec); err != nil {
			t.Fatalf("stream header refused: %v", err)
		}
		for i := 0; ; i++ {
			el, err := s.readElement(dec)
			if err != nil {
				var se *streamError
				if !errors.As(err, &se) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v (%T) is not a stream error", err, err)
				}
				return
			}
			enc := el.AppendXML(nil, stanza.NSClient)
			again := bytesConn{r: bytes.NewReader(append([]byte(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`), enc...))}
			s2 := &Session{srv: &Server{cfg: Config{MaxStanzaBytes: 1 << 20, MaxDepth: 9}}, state: stateBound, stopRead: make(chan struct{})}
			s2.in = newInputReader(s2, again)
			d2 := s2.newDecoder()
			readStreamStart(d2)
			if _, err := s2.readElement(d2); err != nil {
				t.Fatalf("our encoding %q of an accepted element was refused: %v", enc, err)
			}
		}
	})
}

// FuzzJID checks that whatever JID the server accepts (and so stamps on
// stanzas and uses as a directory key) is stable: parsing its string form
// gives the same JID. (It found that jid.Parse alone is not: see ParseJID.)
func FuzzJID(f *testing.F) {
	for _, s := range []string{"alice@localhost/res", "ALICE@LocalHost", "a@b", "b", "a@b/c/d", "\u00c5@x", "@x", "a@", "x/", "0..", "a@b..", "a@.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJID(s)
		if err != nil {
			return
		}
		again, err := ParseJID(j.String())
		if err != nil {
			t.Fatalf("jid.Parse(%q) = %q, which does not parse again: %v", s, j, err)
		}
		if !again.Equal(j) || again.String() != j.String() {
			t.Fatalf("jid.Parse(%q) = %q, reparsed as %q", s, j, again)
		}
	})
}
