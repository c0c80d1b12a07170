package integration

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The raw tests speak XMPP byte by byte, to send what no client library
// would: bad stream headers, DTDs, undefined entities, oversized and
// overdeep stanzas, spoofed addresses. Each checks the exact stream error
// of RFC 6120 §4.9.3 and that a well-behaved session on the same server
// still gets its messages afterwards.

const (
	nsStreams      = "http://etherx.jabber.org/streams"
	nsStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
	nsStanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas"
	rawTimeout     = 10 * time.Second
)

// header returns a client stream header for domain.
func header(domain string) string {
	return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='" + nsStreams +
		"' to='" + domain + "' version='1.0'>"
}

// A node is an element read from the server, kept whole.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []node     `xml:",any"`
}

func (n node) withoutDecls() node {
	out := node{XMLName: n.XMLName, Text: n.Text}
	for _, a := range n.Attrs {
		if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
			out.Attrs = append(out.Attrs, a)
		}
	}
	for _, k := range n.Kids {
		out.Kids = append(out.Kids, k.withoutDecls())
	}
	return out
}

func (n node) attr(local string) string {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// child returns the first child named local in namespace space ("" for any).
func (n node) child(space, local string) *node {
	for i := range n.Kids {
		k := &n.Kids[i]
		if k.XMLName.Local == local && (space == "" || k.XMLName.Space == space) {
			return k
		}
	}
	return nil
}

// String re-encodes n for messages. Namespace declarations read as
// attributes are dropped: XMLName already carries the namespace.
func (n node) String() string {
	b, err := xml.Marshal(n.withoutDecls())
	if err != nil {
		return fmt.Sprintf("<%s/> (%v)", n.XMLName.Local, err)
	}
	return string(b)
}

// stanzaError returns the defined condition of an error stanza, or "".
func (n node) stanzaError() string {
	if e := n.child("", "error"); e != nil {
		for _, k := range e.Kids {
			if k.XMLName.Space == nsStanzaErrors && k.XMLName.Local != "text" {
				return k.XMLName.Local
			}
		}
	}
	return ""
}

// A rawClient is one hand-driven client stream.
type rawClient struct {
	t    testing.TB
	s    *server
	conn net.Conn
	dec  *xml.Decoder
	jid  string // full JID once bound
	seq  int
}

// dialRaw connects to the STARTTLS port.
func dialRaw(t testing.TB, s *server) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.c2sAddr, rawTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, s: s, conn: conn}
	c.dec = xml.NewDecoder(conn)
	t.Cleanup(func() { c.conn.Close() })
	return c
}

// write sends raw bytes, failing the test if they cannot be written.
func (c *rawClient) write(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(rawTimeout))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("writing %.60q: %v", s, err)
	}
}

// writeAsync sends bytes the server may refuse to read to the end (it
// closes the stream part way); write errors are expected and ignored.
func (c *rawClient) writeAsync(s string) {
	go func() {
		c.conn.SetWriteDeadline(time.Now().Add(rawTimeout))
		io.WriteString(c.conn, s)
	}()
}

// next returns the next top-level element, or io.EOF at </stream:stream>.
func (c *rawClient) next() (node, error) {
	c.conn.SetReadDeadline(time.Now().Add(rawTimeout))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return node{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == nsStreams && t.Name.Local == "stream" {
				return node{}, fmt.Errorf("unexpected stream header mid-stream")
			}
			var n node
			if err := c.dec.DecodeElement(&n, &t); err != nil {
				return node{}, err
			}
			return n, nil
		case xml.EndElement:
			return node{}, io.EOF
		}
	}
}

// expect reads the next element and requires it to be local in space.
func (c *rawClient) expect(space, local string) node {
	c.t.Helper()
	n, err := c.next()
	if err != nil {
		c.t.Fatalf("waiting for <%s/>: %v", local, err)
	}
	if n.XMLName.Space != space || n.XMLName.Local != local {
		c.t.Fatalf("got %s, want <%s xmlns='%s'/>", n, local, space)
	}
	return n
}

// open sends a stream header and reads the server's header; it returns
// the header's attributes.
func (c *rawClient) open(h string) xml.StartElement {
	c.t.Helper()
	c.write(h)
	return c.readHeader()
}

// readHeader reads the server's stream header.
func (c *rawClient) readHeader() xml.StartElement {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(rawTimeout))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			c.t.Fatalf("reading the server's stream header: %v", err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name.Space != nsStreams || t.Name.Local != "stream" {
				c.t.Fatalf("server's root element is %v", t.Name)
			}
			return t
		}
	}
}

// features opens a stream for the server's domain and returns its features.
func (c *rawClient) features() node {
	c.t.Helper()
	c.open(header(c.s.domain))
	return c.expect(nsStreams, "features")
}

// startTLS negotiates STARTTLS (the loopback certificate is self-signed)
// and restarts the decoder on the TLS connection.
func (c *rawClient) startTLS() {
	c.t.Helper()
	c.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	c.expect("urn:ietf:params:xml:ns:xmpp-tls", "proceed")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: c.s.domain, MinVersion: tls.VersionTLS12})
	tc.SetDeadline(time.Now().Add(rawTimeout))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	c.conn = tc
	c.dec = xml.NewDecoder(tc)
}

// authPlain sends SASL PLAIN and returns the server's answer element.
func (c *rawClient) authPlain(user, password string) node {
	c.t.Helper()
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	c.write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + creds + "</auth>")
	n, err := c.next()
	if err != nil {
		c.t.Fatalf("waiting for the SASL outcome: %v", err)
	}
	return n
}

// secure dials and takes the stream through STARTTLS to the SASL features.
func secure(t testing.TB, s *server) (*rawClient, node) {
	t.Helper()
	c := dialRaw(t, s)
	c.features()
	c.startTLS()
	return c, c.features()
}

// loginRaw returns a bound session of user (password "pw") with the given
// resource, after TLS and SASL PLAIN.
func loginRaw(t testing.TB, s *server, user, resource string) *rawClient {
	t.Helper()
	c, _ := secure(t, s)
	if n := c.authPlain(user, "pw"); n.XMLName.Local != "success" {
		t.Fatalf("PLAIN as %s: %s", user, n)
	}
	f := c.features()
	if f.child("urn:ietf:params:xml:ns:xmpp-bind", "bind") == nil {
		t.Fatalf("no bind feature after SASL: %s", f)
	}
	c.write("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	res := c.expect("jabber:client", "iq")
	if res.attr("type") != "result" || res.attr("id") != "bind1" {
		t.Fatalf("bind answer: %s", res)
	}
	var j *node
	if b := res.child("", "bind"); b != nil {
		j = b.child("", "jid")
	}
	if j == nil {
		t.Fatalf("bind result without jid: %s", res)
	}
	c.jid = j.Text
	return c
}

// streamError reads until the stream error and the end of the stream, and
// returns the error's condition. Stanzas before the error are skipped; the
// server must close the stream after the error (RFC 6120 §4.9.1.1).
func (c *rawClient) streamError() string {
	c.t.Helper()
	for {
		n, err := c.next()
		if err != nil {
			c.t.Fatalf("stream ended without a stream error: %v", err)
		}
		if n.XMLName.Space != nsStreams || n.XMLName.Local != "error" {
			continue
		}
		cond := ""
		for _, k := range n.Kids {
			if k.XMLName.Space == nsStreamErrors && k.XMLName.Local != "text" {
				cond = k.XMLName.Local
			}
		}
		if cond == "" {
			c.t.Fatalf("stream error without a defined condition: %s", n)
		}
		if n, err := c.next(); err != io.EOF {
			c.t.Errorf("after the stream error: %s, %v; want </stream:stream>", n, err)
		}
		c.expectClosed()
		return cond
	}
}

// expectClosed requires the server to close the TCP connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(rawTimeout))
	var buf [512]byte
	for {
		n, err := c.conn.Read(buf[:])
		if err == nil && n > 0 {
			c.t.Errorf("data after </stream:stream>: %q", buf[:n])
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Errorf("the server did not close the connection after </stream:stream>")
		}
		return
	}
}

// wantStreamError requires the stream to end with condition want.
func (c *rawClient) wantStreamError(want string) {
	c.t.Helper()
	if got := c.streamError(); got != want {
		c.t.Errorf("stream error <%s/>, want <%s/>", got, want)
	}
}

// id returns a fresh stanza id.
func (c *rawClient) id() string {
	c.seq++
	return fmt.Sprintf("r%d", c.seq)
}

// expectMessage reads until a message with body arrives (skipping
// presence and other stanzas) and returns it.
func (c *rawClient) expectMessage(body string) node {
	c.t.Helper()
	for {
		n, err := c.next()
		if err != nil {
			c.t.Fatalf("%s waiting for message %q: %v", c.jid, body, err)
		}
		if n.XMLName.Local != "message" {
			continue
		}
		b := n.child("", "body")
		if b == nil || b.Text != body {
			c.t.Fatalf("%s got %s, want body %q", c.jid, n, body)
		}
		return n
	}
}

// ping sends an XEP-0199 ping to the server and requires the result.
func (c *rawClient) ping() {
	c.t.Helper()
	id := c.id()
	c.write("<iq type='get' id='" + id + "' to='" + c.s.domain + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		n, err := c.next()
		if err != nil {
			c.t.Fatalf("waiting for the ping result: %v", err)
		}
		if n.XMLName.Local == "iq" && n.attr("id") == id {
			if n.attr("type") != "result" {
				c.t.Fatalf("ping answered with %s", n)
			}
			return
		}
	}
}

// close ends the stream politely.
func (c *rawClient) close() {
	c.conn.SetWriteDeadline(time.Now().Add(rawTimeout))
	io.WriteString(c.conn, "</stream:stream>")
	c.conn.Close()
}

// A bystander is a well-behaved session that must not notice what
// another session does wrong.
type bystander struct {
	t    testing.TB
	s    *server
	sess *rawClient
	name string
}

// newBystander logs in bystander/<name>-witness before the bad input.
func newBystander(t testing.TB, s *server, name string) *bystander {
	return &bystander{t: t, s: s, name: name, sess: loginRaw(t, s, "bystander", name+"-witness")}
}

// check has a fresh session send the witness a message and requires it
// to arrive, and the witness's own ping to be answered.
func (b *bystander) check() {
	b.t.Helper()
	sender := loginRaw(b.t, b.s, "bystander", b.name+"-sender")
	body := "still fine after " + b.name
	sender.write("<message type='chat' id='" + sender.id() + "' to='" + b.sess.jid + "'><body>" + body + "</body></message>")
	m := b.sess.expectMessage(body)
	if m.attr("from") != sender.jid {
		b.t.Errorf("message from %q, want %q", m.attr("from"), sender.jid)
	}
	b.sess.ping()
	sender.close()
	b.sess.close()
}

// rawUsers are the accounts the raw tests log in with.
var rawUsers = map[string]string{"mallory": "pw", "bystander": "pw"}

// TestRawStreamHeader sends bad stream headers: each gets the stream error
// RFC 6120 §4.9.3 names, after the server's own header (§4.9.1.2).
func TestRawStreamHeader(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	const ns = " xmlns='jabber:client' xmlns:stream='" + nsStreams + "'"
	cases := []struct {
		name, header, want string
	}{
		{"wrong-to", "<stream:stream" + ns + " to='example.org' version='1.0'>", "host-unknown"},
		{"to-user-jid", "<stream:stream" + ns + " to='mallory@localhost' version='1.0'>", "host-unknown"},
		{"wrong-stream-namespace", "<stream:stream xmlns='jabber:client' xmlns:stream='http://example.org/streams' to='localhost' version='1.0'>", "invalid-namespace"},
		{"wrong-content-namespace", "<stream:stream xmlns='jabber:server' xmlns:stream='" + nsStreams + "' to='localhost' version='1.0'>", "invalid-namespace"},
		{"version-0.9", "<stream:stream" + ns + " to='localhost' version='0.9'>", "unsupported-version"},
		{"version-missing", "<stream:stream" + ns + " to='localhost'>", "unsupported-version"},
		{"version-2.0", "<stream:stream" + ns + " to='localhost' version='2.0'>", "unsupported-version"},
		{"doctype", "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY boom 'boom'>]><stream:stream" + ns + " to='localhost' version='1.0'>", "restricted-xml"},
		{"comment", "<?xml version='1.0'?><!-- hello --><stream:stream" + ns + " to='localhost' version='1.0'>", "restricted-xml"},
		{"processing-instruction", "<?xml version='1.0'?><?evil stuff?><stream:stream" + ns + " to='localhost' version='1.0'>", "restricted-xml"},
		{"encoding-latin1", "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream" + ns + " to='localhost' version='1.0'>", "unsupported-encoding"},
		{"text-before-header", "hello <stream:stream" + ns + " to='localhost' version='1.0'>", "not-well-formed"},
		{"not-a-stream", "<html xmlns='http://www.w3.org/1999/xhtml'>", "invalid-namespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBystander(t, s, "header-"+tc.name)
			c := dialRaw(t, s)
			c.open(tc.header)
			c.wantStreamError(tc.want)
			b.check()
		})
	}
}

// TestRawNegotiation checks what the server allows before a resource is
// bound: only STARTTLS before TLS, SASL PLAIN only inside TLS, nothing
// but SASL (or registration, when enabled) before authentication, and
// nothing but bind before a resource is bound.
func TestRawNegotiation(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})

	// RFC 6120 §4.7: the response header comes from the domain, names the
	// client's 'from' as 'to', speaks version 1.0, and carries a fresh id
	// at every restart.
	t.Run("response-header", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, s)
		attr := func(h xml.StartElement, name string) string {
			for _, a := range h.Attr {
				if a.Name.Space == "" && a.Name.Local == name {
					return a.Value
				}
			}
			return ""
		}
		h1 := c.open(strings.Replace(header(s.domain), "<stream:stream ", "<stream:stream from='mallory@localhost' ", 1))
		for name, want := range map[string]string{"from": s.domain, "to": "mallory@localhost", "version": "1.0"} {
			if got := attr(h1, name); got != want {
				t.Errorf("response header %s=%q, want %q", name, got, want)
			}
		}
		c.expect(nsStreams, "features")
		c.startTLS()
		h2 := c.open(header(s.domain))
		if id1, id2 := attr(h1, "id"), attr(h2, "id"); id1 == "" || id2 == "" || id1 == id2 {
			t.Errorf("stream ids %q and %q: want two different, non-empty ids", id1, id2)
		}
		c.close()
	})
	// XEP-0368: the direct TLS port starts with TLS and goes straight to SASL.
	t.Run("direct-tls", func(t *testing.T) {
		t.Parallel()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: rawTimeout}, "tcp", s.tlsAddr,
			&tls.Config{InsecureSkipVerify: true, ServerName: s.domain, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		c := &rawClient{t: t, s: s, conn: conn, dec: xml.NewDecoder(conn)}
		t.Cleanup(func() { conn.Close() })
		f := c.features()
		if f.child("urn:ietf:params:xml:ns:xmpp-tls", "starttls") != nil || f.child("urn:ietf:params:xml:ns:xmpp-sasl", "mechanisms") == nil {
			t.Fatalf("features on the direct TLS port: %s", f)
		}
		if n := c.authPlain("mallory", "pw"); n.XMLName.Local != "success" {
			t.Fatalf("PLAIN over direct TLS: %s", n)
		}
		c.close()
	})
	t.Run("features-before-tls", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, s)
		f := c.features()
		if len(f.Kids) != 1 {
			t.Fatalf("features before TLS: %s; want only <starttls><required/></starttls>", f)
		}
		st := f.child("urn:ietf:params:xml:ns:xmpp-tls", "starttls")
		if st == nil || len(st.Kids) != 1 || st.child("urn:ietf:params:xml:ns:xmpp-tls", "required") == nil {
			t.Fatalf("features before TLS: %s; want only <starttls><required/></starttls>", f)
		}
		c.close()
	})
	t.Run("features-after-tls", func(t *testing.T) {
		t.Parallel()
		c, f := secure(t, s)
		mechs := f.child("urn:ietf:params:xml:ns:xmpp-sasl", "mechanisms")
		if mechs == nil {
			t.Fatalf("no SASL mechanisms after TLS: %s", f)
		}
		var got []string
		for _, m := range mechs.Kids {
			got = append(got, m.Text)
		}
		if strings.Join(got, " ") != "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN" {
			t.Errorf("mechanisms after TLS: %v", got)
		}
		if f.child("urn:ietf:params:xml:ns:xmpp-tls", "starttls") != nil {
			t.Errorf("STARTTLS offered again after TLS (RFC 6120 §5.4.3.3): %s", f)
		}
		if f.child("http://jabber.org/features/iq-register", "register") != nil {
			t.Errorf("registration offered although it is off: %s", f)
		}
		c.close()
	})
	// TLS 1.2 is the least the server accepts, on both ports.
	t.Run("tls-1.1-refused", func(t *testing.T) {
		t.Parallel()
		old := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}
		c := dialRaw(t, s)
		c.features()
		c.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
		c.expect("urn:ietf:params:xml:ns:xmpp-tls", "proceed")
		tc := tls.Client(c.conn, old)
		tc.SetDeadline(time.Now().Add(rawTimeout))
		if err := tc.Handshake(); err == nil {
			t.Errorf("STARTTLS handshake with TLS 1.1 succeeded (%x)", tc.ConnectionState().Version)
		}
		d := &net.Dialer{Timeout: rawTimeout}
		if dc, err := tls.DialWithDialer(d, "tcp", s.tlsAddr, old); err == nil {
			t.Errorf("direct TLS handshake with TLS 1.1 succeeded (%x)", dc.ConnectionState().Version)
			dc.Close()
		}
	})
	t.Run("plain-before-tls", func(t *testing.T) {
		t.Parallel()
		b := newBystander(t, s, "plain-before-tls")
		c := dialRaw(t, s)
		c.features()
		creds := base64.StdEncoding.EncodeToString([]byte("\x00mallory\x00pw"))
		c.write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + creds + "</auth>")
		for {
			n, err := c.next()
			if err != nil {
				t.Fatalf("no stream error for PLAIN before TLS: %v", err)
			}
			if n.XMLName.Local == "success" {
				t.Fatalf("PLAIN accepted on a plaintext stream")
			}
			if n.XMLName.Local == "error" {
				if n.child(nsStreamErrors, "policy-violation") == nil {
					t.Errorf("PLAIN before TLS: %s, want <policy-violation/> (STARTTLS is required)", n)
				}
				break
			}
		}
		b.check()
	})
	// Before authentication only SASL is allowed (RFC 6120 §6.4.1), and the
	// size and depth limits hold there too.
	for _, tc := range []struct{ name, input, want string }{
		{"message-before-auth", "<message to='bystander@localhost'><body>hi</body></message>", "not-authorized"},
		{"presence-before-auth", "<presence/>", "not-authorized"},
		{"iq-before-auth", "<iq type='get' id='x' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "not-authorized"},
		// XEP-0077 is off: a registration attempt is like any stanza.
		{"register-when-disabled", "<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>eve</username><password>pw</password></query></iq>", "not-authorized"},
		{"huge-before-auth", "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + strings.Repeat("QUFB", 75<<10) + "</auth>", "policy-violation"},
		{"deep-before-auth", "<iq type='get' id='d'>" + strings.Repeat("<x>", 500) + strings.Repeat("</x>", 500) + "</iq>", "policy-violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBystander(t, s, tc.name)
			c, _ := secure(t, s)
			c.writeAsync(tc.input)
			c.wantStreamError(tc.want)
			b.check()
			if tc.name != "register-when-disabled" {
				return
			}
			if out := s.in(t).ctl("user", "list"); containsLine(out, "eve@"+s.domain) {
				t.Errorf("an account was created although registration is off:\n%s", out)
			}
		})
	}
	t.Run("message-before-bind", func(t *testing.T) {
		t.Parallel()
		b := newBystander(t, s, "message-before-bind")
		c, _ := secure(t, s)
		if n := c.authPlain("mallory", "pw"); n.XMLName.Local != "success" {
			t.Fatalf("PLAIN: %s", n)
		}
		c.features()
		c.write("<message to='" + b.sess.jid + "'><body>unbound</body></message>")
		c.wantStreamError("not-authorized")
		b.check()
	})
}

// TestRawBadStanzas sends bad input on bound streams: each gets its
// exact stream error and harms no one else.
func TestRawBadStanzas(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	deep := func(n int) string {
		return "<message to='bystander@localhost'><body>deep</body>" + strings.Repeat("<x xmlns='urn:example:deep'>", n) +
			strings.Repeat("</x>", n) + "</message>"
	}
	big := func(n int) string {
		return "<message to='bystander@localhost'><body>" + strings.Repeat("a", n) + "</body></message>"
	}
	cases := []struct {
		name, input, want string
	}{
		{"invalid-utf8", "<message to='bystander@localhost'><body>\xff\xfe</body></message>", "unsupported-encoding"},
		{"undefined-entity", "<message to='bystander@localhost'><body>&foo;</body></message>", "not-well-formed"},
		{"doctype-mid-stream", "<!DOCTYPE message [<!ENTITY boom 'boom'>]>", "restricted-xml"},
		{"entity-declaration-mid-stream", "<!ENTITY boom 'boom'>", "restricted-xml"},
		{"doctype-in-stanza", "<message to='bystander@localhost'><!DOCTYPE x><body>x</body></message>", "restricted-xml"},
		{"comment-in-stanza", "<message to='bystander@localhost'><!-- c --><body>x</body></message>", "restricted-xml"},
		{"processing-instruction-in-stanza", "<message to='bystander@localhost'><?pi x?><body>x</body></message>", "restricted-xml"},
		{"mismatched-tags", "<message><body>x</message>", "not-well-formed"},
		{"stanza-over-256KiB", big(300 << 10), "policy-violation"},
		{"stanza-just-over-256KiB", big(256 << 10), "policy-violation"},
		{"too-deep", deep(200), "policy-violation"},
		{"spoofed-from-other-user", "<message from='bystander@localhost/x' to='bystander@localhost'><body>spoof</body></message>", "invalid-from"},
		{"spoofed-from-other-domain", "<presence from='mallory@example.org'/>", "invalid-from"},
		{"spoofed-from-other-resource", "<iq type='get' id='s' from='mallory@localhost/other' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "invalid-from"},
		{"unknown-top-level-element", "<foo xmlns='jabber:client'/>", "unsupported-stanza-type"},
		{"unknown-top-level-namespace", "<message xmlns='urn:example:other'><body>x</body></message>", "unsupported-stanza-type"},
		{"text-between-stanzas", "hello <message to='bystander@localhost'><body>x</body></message>", "bad-format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBystander(t, s, tc.name)
			c := loginRaw(t, s, "mallory", tc.name)
			c.ping() // the session works before the bad input
			if len(tc.input) > 64<<10 {
				c.writeAsync(tc.input)
			} else {
				c.write(tc.input)
			}
			c.wantStreamError(tc.want)
			b.check()
		})
	}

	// Just inside the limits is fine.
	t.Run("within-limits", func(t *testing.T) {
		t.Parallel()
		b := newBystander(t, s, "within-limits")
		c := loginRaw(t, s, "mallory", "within-limits")
		for _, st := range []string{
			big(200 << 10),
			deep(32),
			"<message to='bystander@localhost'><body>&lt;&amp;&gt;&quot;&apos;&#x263A;</body></message>",
			"<message from='" + c.jid + "' to='bystander@localhost'><body>own full JID as from</body></message>",
			"<message from='mallory@localhost' to='bystander@localhost'><body>own bare JID as from</body></message>",
		} {
			c.write(strings.Replace(st, "to='bystander@localhost'", "to='"+b.sess.jid+"'", 1))
		}
		b.sess.expectMessage(strings.Repeat("a", 200<<10))
		b.sess.expectMessage("deep")
		b.sess.expectMessage("<&>\"'\u263a")
		if m := b.sess.expectMessage("own full JID as from"); m.attr("from") != c.jid {
			t.Errorf("'from' %q, want %q", m.attr("from"), c.jid)
		}
		b.sess.expectMessage("own bare JID as from")
		c.ping()
		c.close()
		b.check()
	})

	// RFC 6120 §4.6.1: whitespace between stanzas keeps the stream alive.
	t.Run("whitespace-keepalive", func(t *testing.T) {
		t.Parallel()
		b := newBystander(t, s, "whitespace")
		c := loginRaw(t, s, "mallory", "whitespace")
		for range 5 {
			c.write(" ")
			c.write("\n\t\r\n")
			time.Sleep(20 * time.Millisecond)
		}
		c.write("<message to='" + b.sess.jid + "'><body>after keepalives</body></message>\n \n")
		b.sess.expectMessage("after keepalives")
		c.ping()
		c.close()
		b.check()
	})
}

// TestRawSASLFailures checks the SASL failure conditions of RFC 6120
// §6.5: each is a <failure/> the client may recover from on the same
// stream (§6.4.5).
func TestRawSASLFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const sasl = "urn:ietf:params:xml:ns:xmpp-sasl"
	for _, tc := range []struct{ name, send, want string }{
		{"wrong-password", "<auth xmlns='" + sasl + "' mechanism='PLAIN'>" + b64("\x00mallory\x00wrong") + "</auth>", "not-authorized"},
		{"unknown-mechanism", "<auth xmlns='" + sasl + "' mechanism='X-UNKNOWN'>" + b64("x") + "</auth>", "invalid-mechanism"},
		{"bad-base64", "<auth xmlns='" + sasl + "' mechanism='PLAIN'>!!not base64!!</auth>", "incorrect-encoding"},
		{"plain-other-authzid", "<auth xmlns='" + sasl + "' mechanism='PLAIN'>" + b64("bystander@localhost\x00mallory\x00pw") + "</auth>", "invalid-authzid"},
		{"plain-malformed", "<auth xmlns='" + sasl + "' mechanism='PLAIN'>" + b64("no separators") + "</auth>", "malformed-request"},
		{"scram-aborted", "<auth xmlns='" + sasl + "' mechanism='SCRAM-SHA-256'>" + b64("n,,n=mallory,r=abcdefghijklmnop") + "</auth>", "aborted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := secure(t, s)
			c.write(tc.send)
			n, err := c.next()
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "aborted" {
				if n.XMLName.Local != "challenge" {
					t.Fatalf("SCRAM client-first answered with %s", n)
				}
				c.write("<abort xmlns='" + sasl + "'/>")
				if n, err = c.next(); err != nil {
					t.Fatal(err)
				}
			}
			if n.XMLName.Space != sasl || n.XMLName.Local != "failure" || n.child(sasl, tc.want) == nil {
				t.Fatalf("got %s, want <failure><%s/></failure>", n, tc.want)
			}
			if n := c.authPlain("mallory", "pw"); n.XMLName.Local != "success" {
				t.Fatalf("authentication after the failure: %s", n)
			}
			c.close()
		})
	}
}

// TestRawSessionIQ checks the session request of RFC 3921 §3, which
// clients that predate RFC 6121 send after binding. The server advertises
// the session feature as <optional/> (draft-cridland-xmpp-session): the
// request is then a no-op that must still be answered with a result.
func TestRawSessionIQ(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	c := loginRaw(t, s, "mallory", "old-client")
	c.write("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
	n := c.expect("jabber:client", "iq")
	if n.attr("id") != "sess1" || n.attr("type") != "result" {
		t.Errorf("session request after bind answered with %s, want an empty result", n)
	}
	c.ping()
	c.close()
}

// TestRawStreamClose checks that a client's </stream:stream> is answered
// with the server's own closing tag and the connection closed, without a
// stream error (RFC 6120 §4.4).
func TestRawStreamClose(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	c := loginRaw(t, s, "mallory", "closer")
	c.ping()
	c.write("</stream:stream>")
	for {
		n, err := c.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("waiting for </stream:stream>: %v", err)
		}
		if n.XMLName.Space == nsStreams && n.XMLName.Local == "error" {
			t.Fatalf("stream error on a clean close: %s", n)
		}
	}
	c.expectClosed()
}

// TestRawAuthFailures checks the SASL retry limit (RFC 6120 §6.4.5) and
// that the per-IP throttle slows repeated failures without locking out
// the right password.
func TestRawAuthFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	for round := range 2 {
		c, _ := secure(t, s)
		for i := 1; i <= 5; i++ {
			n := c.authPlain("mallory", "wrong")
			if n.XMLName.Local != "failure" || n.child("urn:ietf:params:xml:ns:xmpp-sasl", "not-authorized") == nil {
				t.Fatalf("round %d, attempt %d: %s, want <failure><not-authorized/></failure>", round, i, n)
			}
		}
		// Five failures on one stream are enough.
		c.wantStreamError("policy-violation")
	}
	start := time.Now()
	c, _ := secure(t, s)
	if n := c.authPlain("mallory", "pw"); n.XMLName.Local != "success" {
		t.Fatalf("the right password after ten failures: %s", n)
	}
	t.Logf("the right password after ten failures took %v", time.Since(start))
	c.close()
}

// TestRawStanzaErrors checks stanza errors that raw XML shows best: IQ
// rules (RFC 6120 §8.2.3), and an invalid 'to' (jid-malformed); the
// stream stays open after each.
func TestRawStanzaErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	c := loginRaw(t, s, "mallory", "iq")
	for _, tc := range []struct{ name, stanza, want string }{
		{"two-payloads", "<iq type='get' id='%s' to='localhost'><ping xmlns='urn:xmpp:ping'/><time xmlns='urn:xmpp:time'/></iq>", "bad-request"},
		{"no-payload", "<iq type='get' id='%s' to='localhost'/>", "bad-request"},
		{"unknown-namespace", "<iq type='get' id='%s' to='localhost'><query xmlns='urn:example:nothing'/></iq>", "service-unavailable"},
		{"unknown-type", "<iq type='fetch' id='%s' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "bad-request"},
		{"malformed-to", "<iq type='get' id='%s' to='a@b@c'><ping xmlns='urn:xmpp:ping'/></iq>", "jid-malformed"},
		{"unavailable-full-jid", "<iq type='get' id='%s' to='bystander@localhost/nowhere'><ping xmlns='urn:xmpp:ping'/></iq>", "service-unavailable"},
	} {
		id := c.id()
		c.write(fmt.Sprintf(tc.stanza, id))
		n, err := c.next()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n.attr("id") != id || n.attr("type") != "error" || n.stanzaError() != tc.want {
			t.Errorf("%s: got %s, want an error <%s/> with id %s", tc.name, n, tc.want, id)
		}
	}
	// Responses and errors are never answered, whatever they look like.
	c.write("<iq type='result' id='stray' to='localhost'/>")
	c.write("<iq type='error' id='stray2' to='bystander@localhost/nowhere'><error type='cancel'><item-not-found xmlns='" + nsStanzaErrors + "'/></error></iq>")
	c.write("<message type='error' to='nobody@localhost'><body>x</body></message>")
	c.ping() // the next thing read is the ping result, not an answer to the above
	c.close()
}

// TestRawAuthDeadline checks that streams not authenticated within
// [c2s] auth_timeout are closed, that bound sessions are not, and that
// idle bound sessions are pinged.
func TestRawAuthDeadline(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers, config: "[c2s]\nauth_timeout = \"1s\"\nidle_timeout = \"1s\"\n"})
	b := newBystander(t, s, "deadline")
	for _, tc := range []struct {
		name string
		prep func(c *rawClient)
	}{
		{"silent", func(c *rawClient) {}},
		{"after-header", func(c *rawClient) { c.features() }},
		{"after-tls", func(c *rawClient) { c.features(); c.startTLS(); c.features() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c := dialRaw(t, s)
			tc.prep(c)
			if tc.name == "silent" {
				// No header was sent: the server sends its own before the
				// error (RFC 6120 §4.9.1.2).
				c.readHeader()
			}
			cond := c.streamError()
			elapsed := time.Since(start)
			// policy-violation: the stream broke the server's rule
			// (RFC 6120 §4.9.3.12); connection-timeout would also be a
			// reasonable reading of §4.9.3.4.
			if cond != "policy-violation" && cond != "connection-timeout" {
				t.Errorf("idle unauthenticated stream closed with <%s/>", cond)
			}
			if elapsed < 900*time.Millisecond || elapsed > 5*time.Second {
				t.Errorf("closed after %v, want about 1s", elapsed)
			}
		})
	}
	// XEP-0199 §4.2: the server pings a bound client that has been idle for
	// idle_timeout, and an answered ping keeps the stream open.
	t.Run("idle-ping", func(t *testing.T) {
		c := loginRaw(t, s, "mallory", "idle")
		for range 2 {
			n, err := c.next()
			if err != nil {
				t.Fatalf("waiting for the server's ping: %v", err)
			}
			if n.XMLName.Local != "iq" || n.attr("type") != "get" || n.child("urn:xmpp:ping", "ping") == nil {
				t.Fatalf("idle client got %s, want a ping", n)
			}
			if n.attr("from") != s.domain || n.attr("to") != c.jid {
				t.Errorf("ping from %q to %q", n.attr("from"), n.attr("to"))
			}
			c.write("<iq type='result' id='" + n.attr("id") + "' to='" + s.domain + "'/>")
		}
		c.ping()
		c.close()
	})
	// The bystander has been bound for longer than auth_timeout by now.
	b.check()
}

// TestRawShutdown sends SIGTERM with two sessions connected: both get
// <system-shutdown/>, and the process exits 0.
func TestRawShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: rawUsers})
	a := loginRaw(t, s, "mallory", "one")
	b := loginRaw(t, s, "bystander", "two")
	a.write("<presence/>")
	b.write("<presence/>")
	a.ping()
	b.ping()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.wantStreamError("system-shutdown")
	b.wantStreamError("system-shutdown")
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("xmppd exited with %v after SIGTERM", err)
		}
		s.exited <- err // for the harness's own stop at cleanup
	case <-time.After(15 * time.Second):
		t.Fatalf("xmppd still running 15s after SIGTERM")
	}
}
