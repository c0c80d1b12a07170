// Package carbons implements XEP-0280 message carbons: a user's resources
// that enable carbons get a copy of each instant message the user's other
// resources send or receive, so every device shows both sides of every
// conversation.
//
// Copies are made in the goroutine that routes the original, after it was
// queued: received copies from the core's MessageDelivered hook (to every
// carbons-enabled resource of the recipient that did not get the original,
// XEP-0280 §7), sent copies from the MessageSent hook (to every
// carbons-enabled resource of the sender but the sending one, §8). Each copy
// is wrapped in <received/> or <sent/> and a XEP-0297 <forwarded/>, from the
// user's bare JID to the full JID of the resource that gets it.
//
// Which messages are copied follows the rules XEP-0280 §6 suggests: type
// chat, or type normal with a body; never groupchat, headline or error,
// nothing from or to a MUC occupant (a muc#user payload), nothing marked
// <private xmlns='urn:xmpp:carbons:2'/> (§9) or <no-copy
// xmlns='urn:xmpp:hints'/> (XEP-0334), and never a carbon copy itself.
//
// The recipient's resource gets a private message without its <private/>
// (§6 says the server SHOULD remove it): a MessageInHook removes it before
// the message is queued and remembers, under a weak pointer to the
// message, that the MessageDelivered hook must not copy it. The entry goes
// when that hook runs or, for a message stored or refused instead, when the
// message is collected.
package carbons

import (
	"context"
	"runtime"
	"sync"
	"weak"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// Namespaces.
const (
	NS        = "urn:xmpp:carbons:2"
	nsForward = "urn:xmpp:forward:0"                  // XEP-0297
	nsHints   = "urn:xmpp:hints"                      // XEP-0334
	nsMUCUser = "http://jabber.org/protocol/muc#user" // XEP-0045
)

// A Service is the carbons feature. Its only state is the per-session
// enabled flag.
type Service struct {
	enabled c2s.Slot[bool]
	private sync.Map // weak.Pointer[stanza.Element] → struct{}: <private/> removed, not to be copied
}

var _ c2s.Feature = (*Service)(nil)

// New returns the carbons feature.
func New() *Service { return &Service{enabled: c2s.NewSlot[bool]()} }

// Register adds the enable/disable IQs, the disco feature and the hooks
// that make copies.
func (s *Service) Register(r *c2s.Registry) error {
	r.HandleIQ(NS, c2s.ToSelf|c2s.ToServer, s.handleIQ)
	r.ServerFeature(NS)
	r.OnMessageSent(s.copySent)
	r.OnMessageDelivered(s.copyReceived)
	r.OnMessageIn(s.stripPrivate)
	return nil
}

// stripPrivate removes <private/> from a message on its way to a local
// account and remembers that it is not to be copied.
func (s *Service) stripPrivate(_ context.Context, _ jid.JID, msg *stanza.Element) {
	kept := make([]stanza.Node, 0, len(msg.Children))
	for _, n := range msg.Children {
		if n.Elem != nil && n.Elem.Name.Space == NS && n.Elem.Name.Local == "private" {
			continue
		}
		kept = append(kept, n)
	}
	if len(kept) == len(msg.Children) {
		return
	}
	msg.Children = kept
	wp := weak.Make(msg)
	s.private.Store(wp, struct{}{})
	runtime.AddCleanup(msg, func(wp weak.Pointer[stanza.Element]) { s.private.Delete(wp) }, wp)
}

// wasPrivate reports whether stripPrivate removed <private/> from msg,
// and forgets it.
func (s *Service) wasPrivate(msg *stanza.Element) bool {
	_, ok := s.private.LoadAndDelete(weak.Make(msg))
	return ok
}

// handleIQ serves <enable/> and <disable/> (§4, §5). Repeating either is
// not an error (§10.1).
func (s *Service) handleIQ(_ context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	if iq.Type != "set" {
		return nil, c2s.BadRequest("carbons are enabled or disabled with a set")
	}
	switch iq.Payload.Name.Local {
	case "enable":
		s.enabled.Set(iq.Session, true)
	case "disable":
		s.enabled.Delete(iq.Session)
	default:
		return nil, c2s.BadRequest("expected <enable/> or <disable/>")
	}
	return nil, nil
}

// Enabled reports whether the session has carbons enabled.
func (s *Service) Enabled(sess *c2s.Session) bool {
	on, _ := s.enabled.Get(sess)
	return on
}

// Eligible reports whether msg is copied at all (XEP-0280 §6, §9).
func Eligible(msg *stanza.Element) bool {
	switch msg.Get("type") {
	case "chat":
	case "", "normal":
		if msg.Child(stanza.NSClient, "body") == nil {
			return false
		}
	default:
		return false
	}
	for _, c := range msg.Elements() {
		switch {
		case c.Name.Space == NS: // <private/>, or a copy itself
			return false
		case c.Name.Space == nsHints && c.Name.Local == "no-copy":
			return false
		case c.Name.Space == nsMUCUser:
			return false
		}
	}
	return true
}

// Wrap returns the copy of msg for the resource to: kind is "received" or
// "sent".
func Wrap(kind string, msg *stanza.Element, to jid.JID) *stanza.Element {
	w := stanza.New(stanza.NSClient, "message", "from", to.Bare().String(), "to", to.String())
	if t := msg.Get("type"); t != "" {
		w.Set("type", t)
	}
	return w.Append(stanza.New(NS, kind).Append(stanza.New(nsForward, "forwarded").Append(msg)))
}

// copySent copies a message a session sends to the user's other
// carbons-enabled resources.
func (s *Service) copySent(_ context.Context, sender *c2s.Session, msg *stanza.Element) {
	if !Eligible(msg) {
		return
	}
	var orig *stanza.Element // copied once, only if someone wants it
	for _, r := range sender.Server().Directory().Resources(sender.JID().Bare().String()) {
		sess, ok := r.(*c2s.Session)
		if !ok || sess == sender || !s.Enabled(sess) {
			continue
		}
		if orig == nil {
			orig = msg.Copy() // the hook may not keep msg
		}
		sess.Send(Wrap("sent", orig, sess.JID()))
	}
}

// copyReceived copies a message delivered to some of to's resources to the
// carbons-enabled others.
func (s *Service) copyReceived(_ context.Context, to jid.JID, msg *stanza.Element, delivered []c2s.Resource) {
	if s.wasPrivate(msg) || !Eligible(msg) {
		return
	}
	got := make(map[c2s.Resource]bool, len(delivered))
	var dir c2s.Directory
	for _, r := range delivered {
		got[r] = true
		if sess, ok := r.(*c2s.Session); ok {
			dir = sess.Server().Directory()
		}
	}
	if dir == nil {
		return // delivered only to resources on other nodes
	}
	for _, r := range dir.Resources(to.String()) {
		sess, ok := r.(*c2s.Session)
		if !ok || got[r] || !s.Enabled(sess) {
			continue
		}
		sess.Send(Wrap("received", msg, sess.JID()))
	}
}
