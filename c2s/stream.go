package c2s

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/auth"
	"github.com/xmppd/xmppd/stanza"
)

// Namespaces of stream negotiation (RFC 6120).
const (
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsRegister = "http://jabber.org/features/iq-register"
)

// maxAuthAttempts is how many SASL failures one stream may have before it
// is closed (RFC 6120 §6.4.5 asks for between 2 and 5 retries).
const maxAuthAttempts = 5

// negotiate takes the stream from TCP accept to a bound resource:
// [TLS] → header → STARTTLS → header → SASL → header → bind.
func (s *Session) negotiate() error {
	if s.directTLS {
		if err := s.handshakeTLS(); err != nil {
			return err
		}
	}
	s.in = newInputReader(s, s.conn)
	dec := s.newDecoder()
	for {
		if err := s.openStream(dec); err != nil {
			return err
		}
		if err := s.writeFeatures(); err != nil {
			return err
		}
		restart, err := s.negotiateStep(dec)
		if err != nil {
			return err
		}
		if s.state == stateBound {
			s.dec = dec
			return nil
		}
		if restart {
			s.in = newInputReader(s, s.conn)
			dec = s.newDecoder()
		}
	}
}

func (s *Session) newDecoder() *xml.Decoder {
	d := xml.NewDecoder(s.in)
	d.Strict = true
	return d
}

func (s *Session) handshakeTLS() error {
	tc := tls.Server(s.conn, s.srv.tls)
	ctx, cancel := context.WithDeadline(context.Background(), s.since.Add(s.srv.cfg.authTimeout()))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.srv.m.tlsFailures.Inc()
		return fmt.Errorf("c2s: tls handshake: %w", err)
	}
	s.conn = tc
	s.secure = true
	s.state = stateSecured
	return nil
}

// write sends raw bytes before the writer goroutine exists, after what
// hold kept back.
func (s *Session) write(b []byte) error {
	if s.debugOn() {
		s.log.Debug("send", "xml", string(b))
	}
	if len(s.held) > 0 {
		b = append(s.held, b...)
		s.held = nil
	}
	s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := s.conn.Write(b)
	return err
}

// hold keeps b to go out with the next write (or the stream's trailer):
// the stream header and the features that always follow it leave in one
// TCP segment and one TLS record instead of two.
func (s *Session) hold(b []byte) {
	if s.debugOn() {
		s.log.Debug("send", "xml", string(b))
	}
	s.held = append(s.held, b...)
}

// openStream reads the client's stream header and answers with ours. Errors
// found in the header are sent after our header, as RFC 6120 §4.9.1.2 says.
func (s *Session) openStream(dec *xml.Decoder) error {
	start, err := readStreamStart(dec)
	if err != nil {
		s.sendHeader("", "")
		return err
	}
	var to, from, version, defaultNS string
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "to":
			to = a.Value
		case a.Name.Space == "" && a.Name.Local == "from":
			from = a.Value
		case a.Name.Space == "" && a.Name.Local == "version":
			version = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			defaultNS = a.Value
		}
	}
	if err := s.sendHeader(from, version); err != nil {
		return err
	}
	switch {
	case start.Name.Space != stanza.NSStream:
		return &streamError{cond: streamInvalidNamespace, text: "stream namespace must be " + stanza.NSStream}
	case start.Name.Local != "stream":
		return &streamError{cond: streamBadFormat, text: "root element must be stream"}
	case defaultNS != stanza.NSClient:
		return &streamError{cond: streamInvalidNamespace, text: "content namespace must be jabber:client"}
	case !versionAtLeast1(version):
		return &streamError{cond: streamUnsupportedVersion, text: "XMPP 1.0 streams only"}
	}
	if to == "" {
		return &streamError{cond: streamHostUnknown, text: "the stream header has no 'to'"}
	}
	if j, err := ParseJID(to); err != nil || !j.Equal(s.srv.domain) {
		return &streamError{cond: streamHostUnknown, text: "this server serves " + s.srv.domain.String()}
	}
	return nil
}

// readStreamStart skips the XML declaration and returns the root start tag.
func readStreamStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, decodeError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.ProcInst:
			if t.Target != "xml" {
				return xml.StartElement{}, &streamError{cond: streamRestrictedXML, text: "processing instructions are not allowed"}
			}
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return xml.StartElement{}, &streamError{cond: streamNotWellFormed}
			}
		case xml.Comment, xml.Directive:
			return xml.StartElement{}, &streamError{cond: streamRestrictedXML, text: "comments and DTDs are not allowed"}
		default:
			return xml.StartElement{}, &streamError{cond: streamNotWellFormed}
		}
	}
}

func versionAtLeast1(v string) bool {
	major, _, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	n := 0
	for _, c := range major {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
		if n > 1 {
			return false // a major version we do not speak: unsupported-version
		}
	}
	return n == 1
}

func (s *Session) sendHeader(clientFrom, clientVersion string) error {
	var b strings.Builder
	b.WriteString("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='")
	b.WriteString(s.id + "-" + s.srv.nextID())
	b.WriteString("' from='")
	b.WriteString(stanza.Escape(s.srv.domain.String()))
	if clientFrom != "" {
		if j, err := ParseJID(clientFrom); err == nil {
			b.WriteString("' to='")
			b.WriteString(stanza.Escape(j.String()))
		}
	}
	b.WriteString("' version='1.0' xml:lang='en'>")
	s.hold([]byte(b.String()))
	return nil
}

func (s *Session) writeFeatures() error {
	f := stanza.New(stanza.NSStream, "features")
	switch s.state {
	case stateOpened:
		// TLS is mandatory to negotiate: nothing else is offered before it.
		f.Append(stanza.New(nsTLS, "starttls").Append(stanza.New(nsTLS, "required")))
	case stateSecured:
		mechs := stanza.New(nsSASL, "mechanisms")
		for _, m := range s.srv.acc.Mechanisms(s.secure) {
			mechs.Append(stanza.New(nsSASL, "mechanism").SetText(m))
		}
		f.Append(mechs)
		if s.srv.cfg.AllowRegistration {
			f.Append(stanza.New(nsRegister, "register"))
		}
	case stateAuthenticated:
		f.Append(stanza.New(nsBind, "bind"))
		f.Append(stanza.New(nsSession, "session").Append(stanza.New(nsSession, "optional")))
		f.Append(smFeature())
		f.Append(csiFeature())
		for _, sf := range s.srv.reg.streamFeatures {
			if el := sf(s); el != nil {
				f.Append(el)
			}
		}
	}
	// The features element is encoded inside the stream: its prefix is
	// the stream namespace, children in their own namespaces.
	b := []byte("<stream:features>")
	for _, c := range f.Elements() {
		b = c.AppendXML(b, stanza.NSClient)
	}
	b = append(b, "</stream:features>"...)
	return s.write(b)
}

// negotiateStep reads top-level elements until the stream must restart
// (after TLS or SASL) or the resource is bound.
func (s *Session) negotiateStep(dec *xml.Decoder) (restart bool, err error) {
	authFailures := 0
	for {
		el, err := s.readElement(dec)
		if err != nil {
			return false, err
		}
		switch s.state {
		case stateOpened:
			if el.Name.Space != nsTLS || el.Name.Local != "starttls" {
				return false, &streamError{cond: streamPolicyViolation, text: "STARTTLS is required"}
			}
			if err := s.write([]byte("<proceed xmlns='" + nsTLS + "'/>")); err != nil {
				return false, err
			}
			if err := s.handshakeTLS(); err != nil {
				return false, err
			}
			return true, nil
		case stateSecured:
			switch {
			case el.Name.Space == nsSASL && el.Name.Local == "auth":
				ok, err := s.authenticate(dec, el)
				if err != nil {
					return false, err
				}
				if ok {
					s.state = stateAuthenticated
					return true, nil
				}
				authFailures++
				if authFailures >= maxAuthAttempts {
					return false, &streamError{cond: streamPolicyViolation, text: "too many authentication attempts"}
				}
			case el.Name.Space == stanza.NSClient && el.Name.Local == "iq" && s.srv.cfg.AllowRegistration:
				if err := s.handleRegistration(el); err != nil {
					return false, err
				}
			default:
				return false, &streamError{cond: streamNotAuthorized, text: "authenticate first"}
			}
		case stateAuthenticated:
			if el.Name.Space == nsSM {
				done, err := s.negotiateSM(el, dec)
				if err != nil {
					return false, err
				}
				if done {
					return false, errHandedOver
				}
				continue
			}
			if el.Name.Space != stanza.NSClient || el.Name.Local != "iq" {
				return false, &streamError{cond: streamNotAuthorized, text: "bind a resource first"}
			}
			bound, err := s.handlePreBindIQ(el)
			if err != nil {
				return false, err
			}
			if bound {
				return false, nil
			}
		}
	}
}

// readElement reads the next top-level element, skipping whitespace
// keepalives, and maps decoder problems to stream errors.
func (s *Session) readElement(dec *xml.Decoder) (*stanza.Element, error) {
	for {
		s.in.resetBudget()
		startOff := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, decodeError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el, err := stanza.Read(dec, t, s.srv.cfg.maxDepth())
			if err != nil {
				return nil, decodeError(err)
			}
			if dec.InputOffset()-startOff > int64(s.srv.cfg.maxStanzaBytes()) {
				return nil, decodeError(errTooLarge)
			}
			if s.debugOn() {
				s.log.Debug("recv", "xml", el.String())
			}
			return el, nil
		case xml.EndElement:
			return nil, io.EOF // </stream:stream>
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return nil, &streamError{cond: streamBadFormat, text: "text outside stanzas"}
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
			return nil, &streamError{cond: streamRestrictedXML, text: "comments, processing instructions and DTDs are not allowed"}
		}
	}
}

// decodeError maps an error from the decoder to a stream error.
func decodeError(err error) error {
	var se *streamError
	var syn *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, errTooLarge):
		return &streamError{cond: streamPolicyViolation, text: "stanza too large", err: err}
	case errors.Is(err, stanza.ErrTooDeep):
		return &streamError{cond: streamPolicyViolation, text: "XML nested too deeply", err: err}
	case errors.Is(err, stanza.ErrRestricted):
		return &streamError{cond: streamRestrictedXML, err: err}
	case errors.Is(err, errIdle):
		return &streamError{cond: streamConnectionTimeout, err: err}
	case errors.Is(err, errAuthExpiry):
		return &streamError{cond: streamPolicyViolation, text: "authentication timed out", err: err}
	case errors.Is(err, errStopped), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &syn):
		return err
	case strings.Contains(err.Error(), "CharsetReader"), errors.As(err, &syn) && syn.Msg == "invalid UTF-8":
		// A declared encoding other than UTF-8, or bytes that are not
		// UTF-8 (RFC 6120 §4.9.3.22, §11.6).
		return &streamError{cond: streamUnsupportedEncoding, err: err}
	case errors.As(err, &syn) && syn.Msg == "unexpected EOF":
		return io.ErrUnexpectedEOF // the peer went away mid-stream
	case errors.As(err, &syn):
		return &streamError{cond: streamNotWellFormed, err: err}
	case isClosedConn(err):
		return err
	}
	return &streamError{cond: streamNotWellFormed, err: err}
}

// authenticate runs one SASL exchange. It returns ok=false after a
// <failure/> the client may retry from, and an error when the stream must
// close.
func (s *Session) authenticate(dec *xml.Decoder, el *stanza.Element) (bool, error) {
	mech := el.Get("mechanism")
	ctx := context.Background()
	if s.srv.thr != nil {
		if d := s.srv.thr.Delay(s.remoteIP); d > 0 {
			s.srv.m.authThrottled.Inc()
			s.srv.m.authThrottledSeconds.Add(d.Seconds())
			time.Sleep(d)
		}
	}
	neg, err := s.srv.acc.Start(mech, s.secure)
	if err != nil {
		return false, s.saslFailure(mech, err)
	}
	data, ferr := decodeSASL(el.Text(), true)
	if ferr != nil {
		return false, s.saslFailure(mech, ferr)
	}
	for {
		challenge, done, err := neg.Next(ctx, data)
		if err != nil {
			return false, s.saslFailure(mech, err)
		}
		if done {
			return s.saslSuccess(mech, neg.Username(), challenge)
		}
		b := []byte("<challenge xmlns='" + nsSASL + "'>")
		b = append(b, base64.StdEncoding.EncodeToString(challenge)...)
		if err := s.write(append(b, "</challenge>"...)); err != nil {
			return false, err
		}
		resp, err := s.readElement(dec)
		if err != nil {
			return false, err
		}
		switch {
		case resp.Name.Space == nsSASL && resp.Name.Local == "response":
			if data, ferr = decodeSASL(resp.Text(), false); ferr != nil {
				return false, s.saslFailure(mech, ferr)
			}
		case resp.Name.Space == nsSASL && resp.Name.Local == "abort":
			return false, s.saslFailure(mech, &auth.Failure{Condition: "aborted"})
		default:
			return false, &streamError{cond: streamNotAuthorized, text: "expected a SASL response"}
		}
	}
}

// decodeSASL decodes base64 SASL data: "=" is an empty response; in <auth/>
// an empty element means no initial response (nil).
func decodeSASL(text string, initial bool) ([]byte, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "" && initial:
		return nil, nil
	case text == "" || text == "=":
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, &auth.Failure{Condition: "incorrect-encoding", Err: err}
	}
	return b, nil
}

func (s *Session) saslFailure(mech string, err error) error {
	cond, text := "not-authorized", ""
	var f *auth.Failure
	if errors.As(err, &f) {
		cond, text = f.Condition, f.Text
	} else {
		cond = "temporary-auth-failure"
		s.log.Warn("authentication error", "mechanism", mech, "err", err)
	}
	s.srv.m.authAttempts.WithLabelValues(mechLabel(mech), cond).Inc()
	if cond == "not-authorized" && s.srv.thr != nil {
		s.srv.thr.Failure(s.remoteIP)
	}
	b := []byte("<failure xmlns='" + nsSASL + "'><" + cond + "/>")
	if text != "" {
		b = append(b, "<text xml:lang='en'>"+stanza.Escape(text)+"</text>"...)
	}
	if werr := s.write(append(b, "</failure>"...)); werr != nil {
		return werr
	}
	return nil
}

func (s *Session) saslSuccess(mech, username string, additional []byte) (bool, error) {
	j, err := jid.New(username, s.srv.domain.String(), "")
	if err != nil {
		return false, s.saslFailure(mech, &auth.Failure{Condition: "not-authorized", Err: err})
	}
	s.jid = j
	s.srv.m.authAttempts.WithLabelValues(mechLabel(mech), "success").Inc()
	if s.srv.thr != nil {
		s.srv.thr.Success(s.remoteIP)
	}
	b := []byte("<success xmlns='" + nsSASL + "'")
	if len(additional) > 0 {
		b = append(b, '>')
		b = append(b, base64.StdEncoding.EncodeToString(additional)...)
		b = append(b, "</success>"...)
	} else {
		b = append(b, "/>"...)
	}
	s.log.Debug("authenticated", "mechanism", mech, "user", j.String())
	return true, s.write(b)
}

func mechLabel(m string) string {
	switch m {
	case "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256":
		return m
	}
	return "other"
}

// handlePreBindIQ serves the IQs allowed between authentication and bind.
func (s *Session) handlePreBindIQ(el *stanza.Element) (bound bool, err error) {
	payload := el.Child("", "")
	if el.Get("type") != "set" || payload == nil {
		return false, s.write(ErrorReply(el, BadRequest("bind a resource first"), s.srv.domain.String()).AppendXML(nil, stanza.NSClient))
	}
	switch {
	case payload.Name.Space == nsBind && payload.Name.Local == "bind":
		return s.bind(el, payload)
	case payload.Name.Space == nsSession:
		return false, s.write(stanza.New(stanza.NSClient, "iq", "type", "result", "id", el.Get("id")).AppendXML(nil, stanza.NSClient))
	}
	return false, s.write(ErrorReply(el, NotAuthorized("bind a resource first"), s.srv.domain.String()).AppendXML(nil, stanza.NSClient))
}

// bind binds the requested or a generated resource (RFC 6120 §7). A
// session already bound to the same full JID is closed with <conflict/>:
// the newest connection wins, which is what users reconnecting from a
// half-dead network need.
func (s *Session) bind(iq, payload *stanza.Element) (bool, error) {
	res := strings.TrimSpace(payload.ChildText(nsBind, "resource"))
	if res == "" {
		res = "xmppd-" + s.srv.nextID()
	}
	full, err := s.jid.WithResource(res)
	if err != nil {
		reply := ErrorReply(iq, BadRequest("invalid resourcepart"), s.srv.domain.String())
		return false, s.write(reply.AppendXML(nil, stanza.NSClient))
	}
	s.jid, s.jidString = full, full.String()
	s.log = s.log.With("jid", s.jidString)
	s.refreshDebug()
	s.startWriter()
	s.state = stateBound
	s.srv.m.sessionsActive.WithLabelValues("negotiating").Dec()
	s.srv.m.sessionsActive.WithLabelValues("bound").Inc()
	if old := s.srv.dir.Bind(s); old != nil {
		if os, ok := old.(*Session); ok {
			os.closeWith(&streamError{cond: streamConflict, text: "replaced by a new connection"})
		}
	}
	result := stanza.New(stanza.NSClient, "iq", "type", "result", "id", iq.Get("id"))
	result.Append(stanza.New(nsBind, "bind").Append(stanza.New(nsBind, "jid").SetText(full.String())))
	s.Send(result)
	s.log.Info("bound")
	ctx := s.traceContext(context.Background())
	for _, h := range s.srv.reg.onBound {
		h(ctx, s)
	}
	return true, nil
}
