package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppd/xmppd/stanza"
)

// Namespaces the client negotiates with (RFC 6120, XEP-0077).
const (
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsRegister = "jabber:iq:register"
	nsRoster   = "jabber:iq:roster"
	nsPing     = "urn:xmpp:ping"
)

// A dialConfig says how to reach and log in to the server under test.
type dialConfig struct {
	addr    string
	domain  string
	tlsMode string // "starttls" or "direct"
	mech    string // SCRAM-SHA-1, SCRAM-SHA-256 or PLAIN
	timeout time.Duration
	cache   *saltCache
}

// A conn is one client stream after negotiation. Sends are safe from any
// goroutine; reading belongs to one goroutine (the workload's reader).
type conn struct {
	nc   net.Conn
	f    *framer
	wmu  sync.Mutex
	jid  string // full JID bound by the server
	user string
	// ended is set when the session's reader saw the stream end.
	ended atomic.Bool
}

// maxElement bounds one element read from the server.
const maxElement = 1 << 20

func (cfg dialConfig) tlsConfig() *tls.Config {
	// The servers under test use self-signed certificates on loopback.
	return &tls.Config{ServerName: cfg.domain, InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(0)}
}

// connect opens TCP (and direct TLS) and the first stream, returning the
// connection and the stream features of the secured stream.
func connect(ctx context.Context, cfg dialConfig) (*conn, *stanza.Element, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", cfg.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if cfg.tlsMode == "direct" {
		tc := tls.Client(nc, cfg.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	c := &conn{nc: nc}
	feats, err := c.open(cfg.domain)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if cfg.tlsMode != "direct" {
		if feats.Child(nsTLS, "starttls") == nil {
			nc.Close()
			return nil, nil, errors.New("server does not offer STARTTLS")
		}
		if err := c.send([]byte("<starttls xmlns='" + nsTLS + "'/>")); err != nil {
			nc.Close()
			return nil, nil, err
		}
		el, err := c.readElement()
		if err != nil || el.Name.Local != "proceed" {
			nc.Close()
			return nil, nil, fmt.Errorf("starttls: no <proceed/>: %v", errOr(err, el))
		}
		tc := tls.Client(nc, cfg.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("tls handshake: %w", err)
		}
		c.nc = tc
		if feats, err = c.open(cfg.domain); err != nil {
			tc.Close()
			return nil, nil, err
		}
	}
	return c, feats, nil
}

// login connects, authenticates as user and binds resource. The returned
// conn has no deadline set.
func login(ctx context.Context, cfg dialConfig, user, pass, resource string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	c, feats, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.user = user
	if err := c.auth(feats, cfg, user, pass); err != nil {
		c.nc.Close()
		return nil, fmt.Errorf("%s: %w", user, err)
	}
	if feats, err = c.open(cfg.domain); err != nil {
		c.nc.Close()
		return nil, err
	}
	if err := c.bind(feats, resource); err != nil {
		c.nc.Close()
		return nil, fmt.Errorf("%s: %w", user, err)
	}
	c.nc.SetDeadline(time.Time{})
	return c, nil
}

// open sends a stream header and reads the server's header and features.
func (c *conn) open(domain string) (*stanza.Element, error) {
	c.f = newFramer(c.nc, maxElement)
	hdr := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + domain + "' version='1.0'>"
	if err := c.send([]byte(hdr)); err != nil {
		return nil, err
	}
	h, err := c.f.next()
	if err != nil {
		return nil, fmt.Errorf("read stream header: %w", err)
	}
	if !bytes.Contains(h, []byte("stream")) {
		return nil, fmt.Errorf("unexpected stream header %q", h)
	}
	feats, err := c.readElement()
	if err != nil {
		return nil, err
	}
	if feats.Name.Local != "features" {
		return nil, fmt.Errorf("expected stream features, got <%s/>", feats.Name.Local)
	}
	return feats, nil
}

// auth runs SASL (RFC 6120 §6) with the configured mechanism.
func (c *conn) auth(feats *stanza.Element, cfg dialConfig, user, pass string) error {
	mechs := feats.Child(nsSASL, "mechanisms")
	offered := false
	if mechs != nil {
		for _, m := range mechs.Elements() {
			if m.Text() == cfg.mech {
				offered = true
			}
		}
	}
	if !offered {
		return fmt.Errorf("sasl: server does not offer %s", cfg.mech)
	}
	var sc *scramClient
	var initial []byte
	if cfg.mech == "PLAIN" {
		initial = []byte("\x00" + user + "\x00" + pass)
	} else {
		var err error
		if sc, err = newSCRAM(cfg.mech, user, pass, cfg.cache); err != nil {
			return err
		}
		initial = sc.start()
	}
	if err := c.send([]byte("<auth xmlns='" + nsSASL + "' mechanism='" + cfg.mech + "'>" + base64.StdEncoding.EncodeToString(initial) + "</auth>")); err != nil {
		return err
	}
	for {
		el, err := c.readElement()
		if err != nil {
			return fmt.Errorf("sasl: %w", err)
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(el.Text()))
		if err != nil {
			return fmt.Errorf("sasl: bad base64 in <%s/>", el.Name.Local)
		}
		switch el.Name.Local {
		case "challenge":
			if sc == nil {
				return errors.New("sasl: unexpected challenge for PLAIN")
			}
			resp, err := sc.step(data)
			if err != nil {
				return err
			}
			if err := c.send([]byte("<response xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString(resp) + "</response>")); err != nil {
				return err
			}
		case "success":
			if sc != nil {
				return sc.verify(data)
			}
			return nil
		case "failure":
			cond := "unknown"
			if es := el.Elements(); len(es) > 0 {
				cond = es[0].Name.Local
			}
			return fmt.Errorf("sasl: failure: %s", cond)
		default:
			return fmt.Errorf("sasl: unexpected <%s/>", el.Name.Local)
		}
	}
}

// bind binds resource (RFC 6120 §7) and, where the server still requires
// it, establishes the RFC 3921 session.
func (c *conn) bind(feats *stanza.Element, resource string) error {
	if feats.Child(nsBind, "bind") == nil {
		return errors.New("bind: not offered")
	}
	res, err := c.iq("<iq type='set' id='bind1'><bind xmlns='" + nsBind + "'><resource>" + stanza.Escape(resource) + "</resource></bind></iq>")
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	c.jid = strings.TrimSpace(res.Child(nsBind, "bind").ChildText(nsBind, "jid"))
	if c.jid == "" {
		return errors.New("bind: no jid in result")
	}
	if s := feats.Child(nsSession, "session"); s != nil && s.Child(nsSession, "optional") == nil {
		if _, err := c.iq("<iq type='set' id='sess1'><session xmlns='" + nsSession + "'/></iq>"); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}
	return nil
}

// iq sends an IQ and waits for its answer, skipping anything else (used
// during set-up, before a workload's reader runs).
func (c *conn) iq(s string) (*stanza.Element, error) {
	if err := c.send([]byte(s)); err != nil {
		return nil, err
	}
	for {
		el, err := c.readElement()
		if err != nil {
			return nil, err
		}
		if el.Name.Local != "iq" {
			continue
		}
		switch el.Get("type") {
		case "result":
			return el, nil
		case "error":
			return nil, fmt.Errorf("iq error: %s", stanzaErrorCondition(el))
		}
	}
}

// stanzaErrorCondition names the defined condition of an error stanza.
func stanzaErrorCondition(el *stanza.Element) string {
	if e := el.Child(stanza.NSClient, "error"); e != nil {
		for _, c := range e.Elements() {
			if c.Name.Space == stanza.NSStanzas {
				return c.Name.Local
			}
		}
	}
	return "unknown"
}

// register creates user with XEP-0077 in-band registration. exists
// reports that the account was already there (conflict).
func register(ctx context.Context, cfg dialConfig, user, pass string) (exists bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	c, _, err := connect(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer c.close()
	_, err = c.iq("<iq type='set' id='reg1'><query xmlns='" + nsRegister + "'><username>" + stanza.Escape(user) + "</username><password>" + stanza.Escape(pass) + "</password></query></iq>")
	if err != nil && strings.Contains(err.Error(), "conflict") {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("register %s: %w", user, err)
	}
	return false, nil
}

// send writes one serialised element.
func (c *conn) send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// close ends the stream and the connection.
func (c *conn) close() {
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.send([]byte("</stream:stream>"))
	c.nc.Close()
}

// readElement reads and decodes the next top-level element; a stream
// error becomes an error.
func (c *conn) readElement() (*stanza.Element, error) {
	b, err := c.f.next()
	if err != nil {
		return nil, err
	}
	el, err := parseElement(b)
	if err != nil {
		return nil, err
	}
	if el.Name.Local == "error" && el.Name.Space == stanza.NSStream {
		cond := "unknown"
		if es := el.Elements(); len(es) > 0 {
			cond = es[0].Name.Local
		}
		return nil, fmt.Errorf("stream error: %s", cond)
	}
	return el, nil
}

const wrapOpen = "<w xmlns='jabber:client' xmlns:stream='" + stanza.NSStream + "'>"

// parseElement decodes one top-level element as framed from a client
// stream, resolving the stream's default and "stream" prefixes.
func parseElement(b []byte) (*stanza.Element, error) {
	d := xml.NewDecoder(io.MultiReader(strings.NewReader(wrapOpen), bytes.NewReader(b), strings.NewReader("</w>")))
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", truncate(b), err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return stanza.Read(d, se, 64)
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func errOr(err error, el *stanza.Element) any {
	if err != nil {
		return err
	}
	return "<" + el.Name.Local + "/>"
}

// rawKind returns the local name of a framed element ("message", …).
func rawKind(b []byte) string {
	i := 1
	for i < len(b) && b[i] != ' ' && b[i] != '>' && b[i] != '/' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	name := b[1:i]
	if j := bytes.IndexByte(name, ':'); j >= 0 {
		name = name[j+1:]
	}
	return string(name)
}

// rawAttr returns the value of attribute name in the start tag of a framed
// element (unescaped only for the five predefined entities' absence: the
// workloads use it for type, id and from, which carry none).
func rawAttr(b []byte, name string) string {
	end := bytes.IndexByte(b, '>')
	if end < 0 {
		end = len(b)
	}
	tag := b[:end]
	for off := 0; ; {
		i := bytes.Index(tag[off:], []byte(name+"="))
		if i < 0 {
			return ""
		}
		i += off
		off = i + len(name) + 1
		if i == 0 || !isSpace(tag[i-1]) || off >= len(tag) {
			continue
		}
		q := tag[off]
		if q != '"' && q != '\'' {
			continue
		}
		j := bytes.IndexByte(tag[off+1:], q)
		if j < 0 {
			return ""
		}
		return string(tag[off+1 : off+1+j])
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
