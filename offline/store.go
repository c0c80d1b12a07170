package offline

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// Namespaces the storage policy looks at.
const (
	nsDelay      = "urn:xmpp:delay"                        // XEP-0203
	nsHints      = "urn:xmpp:hints"                        // XEP-0334
	nsChatStates = "http://jabber.org/protocol/chatstates" // XEP-0085
)

// stampLayout is the XEP-0082 DateTime form of the delay stamps: UTC with
// milliseconds.
const stampLayout = "2006-01-02T15:04:05.000Z"

// maxDecodeDepth bounds nesting when a stored message is read back; the
// core already refused deeper stanzas on the wire.
const maxDecodeDepth = 256

// A verdict is what the storage policy decides for one message.
type verdict uint8

const (
	keep verdict = iota
	dropSilently
	refuse
)

// policy applies XEP-0160 §3, XEP-0085 and XEP-0334 to msg: whether to
// store it, drop it without a word, or refuse it with an error; reason
// labels the rejected metric.
func policy(msg *stanza.Element) (v verdict, reason string) {
	switch msg.Get("type") {
	case "", "normal", "chat":
	case "headline":
		return dropSilently, "headline" // RFC 6121 §8.5.2.2.1: silently ignored
	case "error":
		return dropSilently, "error" // never bounced, never stored
	default: // groupchat and unknown types
		return refuse, "type"
	}
	if msg.Child(nsHints, "store") != nil {
		return keep, ""
	}
	if onlyChatStates(msg) {
		return dropSilently, "chat_state"
	}
	if msg.Child(nsHints, "no-store") != nil {
		return refuse, "no_store"
	}
	return keep, ""
}

// onlyChatStates reports whether msg has no body and no payload besides
// chat state notifications and processing hints (a standalone XEP-0085
// notification, which XEP-0160 says not to store).
func onlyChatStates(msg *stanza.Element) bool {
	states := false
	for _, c := range msg.Elements() {
		switch c.Name.Space {
		case nsChatStates:
			states = true
		case nsHints:
		case stanza.NSClient:
			if c.Name.Local != "thread" {
				return false // body, subject
			}
		default:
			return false
		}
	}
	return states
}

// store is the OnUndeliverable handler: it pushes msg onto to's queue and
// returns nil once the push is durable, nil for what is silently dropped,
// or a *c2s.StanzaError for the core to bounce.
func (s *Service) store(ctx context.Context, to jid.JID, msg *stanza.Element) error {
	v, reason := policy(msg)
	switch v {
	case dropSilently:
		s.m.rejected.WithLabelValues(reason).Inc()
		return nil
	case refuse:
		s.m.rejected.WithLabelValues(reason).Inc()
		return c2s.ServiceUnavailable("")
	}
	if s.allow != nil && !s.allow(to.Bare()) {
		s.m.rejected.WithLabelValues("toggle").Inc()
		return c2s.ServiceUnavailable("")
	}
	bare := to.Bare().String()
	data := encode(s.stamped(msg, s.now()))
	_, err := s.q.Push(ctx, key(bare), data, s.limit)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrQueueFull):
		s.m.rejected.WithLabelValues("quota").Inc()
		return c2s.ResourceConstraint("the recipient's offline storage is full")
	case errors.Is(err, storage.ErrTooLarge):
		s.m.rejected.WithLabelValues("too_large").Inc()
		return c2s.NotAcceptable("the message is too large to store for an offline recipient")
	default:
		s.m.rejected.WithLabelValues("storage").Inc()
		s.log.Error("storing offline message failed", "jid", bare, "err", err)
		return &c2s.StanzaError{Type: c2s.Wait, Condition: c2s.CondInternalServerError,
			Text: "the message could not be stored", Err: err}
	}
	s.m.stored.Inc()
	s.flushIfOnline(ctx, bare)
	return nil
}

// stamped returns msg with a XEP-0203 delay from this domain recording
// now. msg itself is not modified (other sessions may hold it). A message
// that already carries this domain's stamp — one stored before, delivered,
// and rerouted back after its session died unwritten — keeps it, so the
// client sees when the server first received it.
func (s *Service) stamped(msg *stanza.Element, now time.Time) *stanza.Element {
	for _, c := range msg.Elements() {
		if c.Name.Space == nsDelay && c.Name.Local == "delay" && c.Get("from") == s.domain {
			return msg
		}
	}
	c := msg.ShallowCopy()
	delay := stanza.New(nsDelay, "delay", "from", s.domain, "stamp", now.UTC().Format(stampLayout))
	c.Children = append(c.Children[:len(c.Children):len(c.Children)], stanza.Node{Elem: delay})
	return c
}

// encode is the stored form of a message: its XML with the namespace
// declared on the root.
func encode(msg *stanza.Element) []byte { return msg.AppendXML(nil, "") }

// decode reads a stored message back.
func decode(data []byte) (*stanza.Element, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("offline: decode stored message: %w", err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			el, err := stanza.Read(d, start, maxDecodeDepth)
			if err != nil {
				return nil, fmt.Errorf("offline: decode stored message: %w", err)
			}
			if el.Name.Space != stanza.NSClient || el.Name.Local != "message" {
				return nil, fmt.Errorf("offline: decode stored message: root is {%s}%s", el.Name.Space, el.Name.Local)
			}
			return el, nil
		}
	}
}
