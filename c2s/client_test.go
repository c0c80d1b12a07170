package c2s

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage/pebble"
)

// testServer is an in-process server on a loopback listener.
type testServer struct {
	*Server
	addr string
	reg  *prometheus.Registry
}

func newTestServer(t testing.TB, cfg Config, users map[string]string, features ...Feature) *testServer {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := auth.NewAccounts(db.KV(), "localhost", auth.Config{})
	for u, p := range users {
		if err := acc.Add(context.Background(), u, p); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	srv, err := NewServer(cfg, Options{Metrics: reg, Accounts: acc, TLS: testTLSConfig(t), Features: features})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeSTARTTLS(ln)
	ts := &testServer{Server: srv, addr: ln.Addr().String(), reg: reg}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts
}

func testTLSConfig(t testing.TB) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// testClient is a minimal XMPP client: STARTTLS, SASL PLAIN, bind.
type testClient struct {
	t    testing.TB
	conn net.Conn
	dec  *xml.Decoder
	jid  string
	// features are the stream features offered after authentication.
	features *stanza.Element
	// requests counts the XEP-0198 ack requests smNext skipped.
	requests int
}

func dialClient(t testing.TB, addr, user, pass, resource string) *testClient {
	t.Helper()
	c := dialAuthed(t, addr, user, pass)
	c.bind(resource)
	return c
}

// dialAuthed connects and authenticates, stopping at the features that
// offer bind.
func dialAuthed(t testing.TB, addr, user, pass string) *testClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, conn: conn}
	t.Cleanup(func() { c.conn.Close() })
	c.open()
	c.expectStart("features")
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	c.expectStart("proceed")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn = tc
	c.open()
	c.expectStart("features")
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + creds + `</auth>`)
	if el := c.next(); el.Name.Local != "success" {
		t.Fatalf("auth: got %s", el)
	}
	c.open()
	c.features = c.expectStart("features")
	return c
}

// bind binds resource on an authenticated stream.
func (c *testClient) bind(resource string) {
	c.t.Helper()
	c.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` + resource + `</resource></bind></iq>`)
	res := c.next()
	if b := res.Child("", "bind"); b != nil {
		c.jid = b.ChildText("", "jid")
	}
	if c.jid == "" {
		c.t.Fatalf("bind: got %s", res)
	}
}

func (c *testClient) open() {
	c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`)
	c.dec = xml.NewDecoder(bufio.NewReader(c.conn))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			c.t.Fatalf("reading stream header: %v", err)
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local == "stream" {
			return
		}
	}
}

func (c *testClient) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next top-level element; a closed stream is returned as
// an element named "closed".
func (c *testClient) next() *stanza.Element {
	c.t.Helper()
	el, err := c.nextErr(5 * time.Second)
	if err != nil {
		c.t.Fatalf("next: %v", err)
	}
	return el
}

func (c *testClient) nextErr(timeout time.Duration) (*stanza.Element, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return stanza.Read(c.dec, t, 100)
		case xml.EndElement:
			return stanza.New("", "closed"), nil
		}
	}
}

func (c *testClient) expectStart(local string) *stanza.Element {
	c.t.Helper()
	el := c.next()
	if el.Name.Local != local {
		c.t.Fatalf("got %s, want <%s/>", el, local)
	}
	return el
}

// streamError reads until the stream ends and returns the stream error
// condition sent, or "".
func (c *testClient) streamError() string {
	c.t.Helper()
	for {
		el, err := c.nextErr(5 * time.Second)
		if err != nil {
			return ""
		}
		if el.Name.Local == "error" && el.Name.Space == "http://etherx.jabber.org/streams" {
			for _, cond := range el.Elements() {
				if cond.Name.Local != "text" {
					return cond.Name.Local
				}
			}
		}
		if el.Name.Local == "closed" {
			return ""
		}
	}
}

func fmtMsg(to, id, body string) string {
	return fmt.Sprintf(`<message to='%s' id='%s' type='chat'><body>%s</body></message>`, to, id, body)
}
