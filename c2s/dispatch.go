package c2s

import (
	"context"
	"fmt"
	"sort"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// A Feature adds protocol support to every session. Register runs once,
// before the server starts; then the registry is frozen and read by all
// sessions without locks — so nothing routes centrally.
type Feature interface {
	Register(r *Registry) error
}

// A Scope says which addressees an IQ handler serves.
type Scope uint8

const (
	// ToServer: IQs addressed to the server's domain.
	ToServer Scope = 1 << iota
	// ToSelf: IQs with no 'to' or addressed to the sender's own bare JID,
	// handled on behalf of the sender's account (RFC 6120 §10.3.3).
	ToSelf
	// ToContact: IQs addressed to the bare JID of another local account,
	// handled by the server on that account's behalf (RFC 6121 §8.5.2.1.3).
	ToContact
)

// An IQ is a request (type get or set) as a handler sees it.
type IQ struct {
	Session *Session // the sender's session
	From    jid.JID  // the sender's full JID
	To      jid.JID  // the addressee; the sender's bare JID when 'to' was absent
	Type    string   // "get" or "set"
	ID      string
	Payload *stanza.Element // the single child element
	Stanza  *stanza.Element // the whole <iq/>

	after []func() // run by the session once the answer is queued
}

// AfterReply asks the session to run f, in its own goroutine, right after
// the answer to this request has been queued: a handler uses it for stanzas
// that must follow the answer (XEP-0237 roster pushes after an empty
// result). f runs whether the answer is a result or an error.
func (iq *IQ) AfterReply(f func()) { iq.after = append(iq.after, f) }

// An IQHandler answers a request. It returns the payload of the result (nil
// for an empty result) or an error: a *StanzaError is sent as is, any other
// error becomes internal-server-error and is logged.
type IQHandler func(ctx context.Context, iq *IQ) (*stanza.Element, error)

// A PresenceHandler sees presence stanzas a client sends before the core
// routes them (subscriptions, broadcast to contacts). It returns handled=true
// when it took care of the stanza completely.
type PresenceHandler func(ctx context.Context, s *Session, p *stanza.Element) (handled bool, err error)

// A SessionHook runs on a session's lifecycle events, in the session's own
// goroutine.
type SessionHook func(ctx context.Context, s *Session)

// An UndeliverableHandler takes a message that RFC 6121 §8 says to store for
// later (chat or normal to a user with no available resource). It returns
// nil once the message is stored durably, or a *StanzaError to bounce.
type UndeliverableHandler func(ctx context.Context, to jid.JID, msg *stanza.Element) error

// A DomainHandler serves every stanza addressed to one domain the server
// hosts besides its own (a component such as MUC). It runs in the sender's
// goroutine and answers or routes the stanza itself.
type DomainHandler func(ctx context.Context, s *Session, st *stanza.Element) error

// A MessageSentHook sees each message a client sends, after the server
// stamped its 'from' and before it is routed, in the sender's goroutine
// (XEP-0313 archives it in the sender's archive). It must not modify msg
// nor keep it past its return.
type MessageSentHook func(ctx context.Context, s *Session, msg *stanza.Element)

// A MessageInHook sees a chat or normal message (type absent included) on
// its way to a local account that exists, once per message, before it is
// delivered to a resource or stored offline, in the routing goroutine. It
// may add children to msg — the recipient gets them (XEP-0359 stanza ids)
// — or remove ones meant for the server only (XEP-0280 <private/>); it
// must not keep msg past its return. Messages rerouted from a resource
// that went away do not pass it a second time.
type MessageInHook func(ctx context.Context, to jid.JID, msg *stanza.Element)

// A MessageDeliveredHook sees a message that routing has just queued to one
// or more resources of the local account to (a bare JID), with those
// resources, in the routing goroutine (XEP-0280 copies it to the others).
// It does not run for messages stored offline, refused or bounced, nor for
// messages rerouted from a resource that went away. It must not modify msg
// or delivered.
type MessageDeliveredHook func(ctx context.Context, to jid.JID, msg *stanza.Element, delivered []Resource)

// A PresenceDecorator may change an available presence (no 'type') that a
// client sends, directed or not, before the server stores, echoes,
// broadcasts or routes it (XEP-0153 avatar hashes). It runs in the
// sender's goroutine before any PresenceHandler.
type PresenceDecorator func(ctx context.Context, s *Session, p *stanza.Element)

// An OutboundFilter sees each stanza a client sends to an address (not
// to its own account), after the server stamped 'from' and before any
// other hook or routing, in the sender's goroutine (XEP-0016 and XEP-0191
// outbound rules). It returns drop=true to stop the stanza: with err set,
// err is sent back to the sender; with err nil the stanza vanishes
// silently. It must not modify st.
type OutboundFilter func(ctx context.Context, s *Session, st *stanza.Element, to jid.JID) (drop bool, err *StanzaError)

// An InboundFilter decides whether st, sent by another entity, may reach r
// (XEP-0016 inbound rules). r is nil when the message would be stored for
// to, a user with no available resource. Routing consults it before
// handing a message or IQ to a resource (a refused message or IQ request
// is answered with service-unavailable, as if the resource were not
// there), and Session.Send consults it for every presence stanza (refused
// presence is dropped silently, so it also covers presence that features
// deliver themselves). It runs in the sender's goroutine, must be cheap
// (no storage access) and must not modify st.
type InboundFilter func(to jid.JID, r Resource, st *stanza.Element) bool

// A StreamFeatureFunc returns an element to advertise in the stream
// features after authentication, or nil.
type StreamFeatureFunc func(s *Session) *stanza.Element

// An Identity is a XEP-0030 identity.
type Identity struct{ Category, Type, Name string }

// A Registry collects what features handle. It is filled by Register calls
// before the server starts and read without locks afterwards.
type Registry struct {
	iq             map[string][]iqRoute
	serverFeatures []string
	accountFeats   []string
	identities     []Identity
	streamFeatures []StreamFeatureFunc
	presence       []PresenceHandler
	presDecorators []PresenceDecorator
	msgSent        []MessageSentHook
	msgIn          []MessageInHook
	msgDelivered   []MessageDeliveredHook
	outFilters     []OutboundFilter
	inFilters      []InboundFilter
	onBound        []SessionHook
	onAvailable    []SessionHook
	onClosed       []SessionHook
	accountRemoved []AccountHook
	undeliverable  UndeliverableHandler
	domains        map[string]domainEntry
	frozen         bool
}

type iqRoute struct {
	scope Scope
	h     IQHandler
}

type domainEntry struct {
	h    DomainHandler
	name string // disco#items name
}

func newRegistry() *Registry {
	return &Registry{iq: map[string][]iqRoute{}, domains: map[string]domainEntry{}}
}

func (r *Registry) mustOpen() {
	if r.frozen {
		panic("c2s: Registry used after the server started")
	}
}

// HandleIQ routes get/set IQs whose payload is in namespace ns and whose
// addressee falls in scope to h. Registering the same namespace and scope
// twice is an error reported by NewServer.
func (r *Registry) HandleIQ(ns string, scope Scope, h IQHandler) {
	r.mustOpen()
	r.iq[ns] = append(r.iq[ns], iqRoute{scope: scope, h: h})
}

// ServerFeature advertises disco#info features of the server.
func (r *Registry) ServerFeature(features ...string) {
	r.mustOpen()
	r.serverFeatures = append(r.serverFeatures, features...)
}

// AccountFeature advertises disco#info features of user accounts (bare JIDs).
func (r *Registry) AccountFeature(features ...string) {
	r.mustOpen()
	r.accountFeats = append(r.accountFeats, features...)
}

// ServerIdentity adds a disco#info identity of the server.
func (r *Registry) ServerIdentity(id Identity) {
	r.mustOpen()
	r.identities = append(r.identities, id)
}

// StreamFeature adds an element to the post-authentication stream features.
func (r *Registry) StreamFeature(f StreamFeatureFunc) {
	r.mustOpen()
	r.streamFeatures = append(r.streamFeatures, f)
}

// OnPresence adds a handler for presence sent by clients.
func (r *Registry) OnPresence(h PresenceHandler) {
	r.mustOpen()
	r.presence = append(r.presence, h)
}

// DecoratePresence adds d to the decorators of available presence.
func (r *Registry) DecoratePresence(d PresenceDecorator) {
	r.mustOpen()
	r.presDecorators = append(r.presDecorators, d)
}

// OnMessageSent adds a hook for messages clients send.
func (r *Registry) OnMessageSent(h MessageSentHook) {
	r.mustOpen()
	r.msgSent = append(r.msgSent, h)
}

// OnMessageDelivered adds a hook for messages delivered to local accounts.
func (r *Registry) OnMessageDelivered(h MessageDeliveredHook) {
	r.mustOpen()
	r.msgDelivered = append(r.msgDelivered, h)
}

// OnMessageIn adds a hook for chat and normal messages to local accounts.
func (r *Registry) OnMessageIn(h MessageInHook) {
	r.mustOpen()
	r.msgIn = append(r.msgIn, h)
}

// FilterOutbound adds f to the filters of stanzas clients send.
func (r *Registry) FilterOutbound(f OutboundFilter) {
	r.mustOpen()
	r.outFilters = append(r.outFilters, f)
}

// FilterInbound adds f to the filters of stanzas delivered to local
// accounts.
func (r *Registry) FilterInbound(f InboundFilter) {
	r.mustOpen()
	r.inFilters = append(r.inFilters, f)
}

// admit reports whether every InboundFilter lets st reach r (nil: offline
// storage for to).
func (r *Registry) admit(to jid.JID, res Resource, st *stanza.Element) bool {
	for _, f := range r.inFilters {
		if !f(to, res, st) {
			return false
		}
	}
	return true
}

// OnBound runs h after a session binds its resource.
func (r *Registry) OnBound(h SessionHook) { r.mustOpen(); r.onBound = append(r.onBound, h) }

// OnAvailable runs h when a session sends its initial presence (available
// after not being available).
func (r *Registry) OnAvailable(h SessionHook) { r.mustOpen(); r.onAvailable = append(r.onAvailable, h) }

// OnClosed runs h when a bound session ends, after it left the directory
// and before its unsent stanzas are rerouted.
func (r *Registry) OnClosed(h SessionHook) { r.mustOpen(); r.onClosed = append(r.onClosed, h) }

// An AccountHook runs for an account (a normalised bare JID) removed
// in-band (XEP-0077 §3.2).
type AccountHook func(ctx context.Context, bare string)

// OnAccountRemoved runs h after an account was removed in-band, once its
// credentials are gone and every session it had has finished closing
// (close hooks included), so h can delete what features stored for it.
// It runs in a goroutine of its own, not in a session's.
func (r *Registry) OnAccountRemoved(h AccountHook) {
	r.mustOpen()
	r.accountRemoved = append(r.accountRemoved, h)
}

// OnUndeliverable sets the handler for messages to store offline. Only one
// may be set.
func (r *Registry) OnUndeliverable(h UndeliverableHandler) {
	r.mustOpen()
	if r.undeliverable != nil {
		panic("c2s: OnUndeliverable registered twice")
	}
	r.undeliverable = h
}

// HandleDomain serves every stanza addressed to domain (and its JIDs) with h,
// and lists the domain in the server's disco#items under name.
func (r *Registry) HandleDomain(domain, name string, h DomainHandler) {
	r.mustOpen()
	r.domains[domain] = domainEntry{h: h, name: name}
}

// check reports conflicting registrations.
func (r *Registry) check() error {
	for ns, routes := range r.iq {
		var seen Scope
		for _, rt := range routes {
			if seen&rt.scope != 0 {
				return fmt.Errorf("c2s: two IQ handlers for %s in one scope", ns)
			}
			seen |= rt.scope
		}
	}
	sort.Strings(r.serverFeatures)
	sort.Strings(r.accountFeats)
	return nil
}

// iqHandler returns the handler for ns in scope, or nil.
func (r *Registry) iqHandler(ns string, scope Scope) IQHandler {
	for _, rt := range r.iq[ns] {
		if rt.scope&scope != 0 {
			return rt.h
		}
	}
	return nil
}
