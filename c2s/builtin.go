package c2s

import (
	"context"
	"runtime"
	"sort"
	"time"

	"github.com/xmppd/xmppd/stanza"
)

// Namespaces of the small services every client expects.
const (
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsPing       = "urn:xmpp:ping"
	nsVersion    = "jabber:iq:version"
	nsTime       = "urn:xmpp:time"
	nsIQRegister = "jabber:iq:register"
)

// registerBuiltins adds service discovery (XEP-0030), ping (XEP-0199),
// software version (XEP-0092) and entity time (XEP-0202). Features add
// their own disco features through the same Registry.
func (s *Server) registerBuiltins() {
	r := s.reg
	r.ServerIdentity(Identity{Category: "server", Type: "im", Name: "xmppd"})
	// jabber:iq:register is served to every authenticated user, for
	// password changes and cancellation (XEP-0077 §3.2, §3.3), so it is
	// advertised whether or not accounts may be created in-band; that is
	// announced by the iq-register stream feature before authentication.
	r.ServerFeature(nsDiscoInfo, nsDiscoItems, nsPing, nsVersion, nsTime, nsIQRegister)
	r.AccountFeature(nsDiscoInfo, nsDiscoItems)
	r.HandleIQ(nsDiscoInfo, ToServer|ToSelf|ToContact, s.discoInfo)
	r.HandleIQ(nsDiscoItems, ToServer|ToSelf|ToContact, s.discoItems)
	r.HandleIQ(nsPing, ToServer|ToSelf, func(ctx context.Context, iq *IQ) (*stanza.Element, error) {
		if iq.Type != "get" {
			return nil, BadRequest("ping is a get")
		}
		return nil, nil
	})
	r.HandleIQ(nsVersion, ToServer, s.softwareVersion)
	r.HandleIQ(nsTime, ToServer, func(ctx context.Context, iq *IQ) (*stanza.Element, error) {
		if iq.Type != "get" {
			return nil, BadRequest("time is a get")
		}
		now := time.Now()
		return stanza.New(nsTime, "time").Append(
			stanza.New(nsTime, "tzo").SetText(now.Format("-07:00")),
			stanza.New(nsTime, "utc").SetText(now.UTC().Format("2006-01-02T15:04:05.000Z")),
		), nil
	})
	r.HandleIQ(nsIQRegister, ToServer|ToSelf, s.accountRegistration)
	// RFC 3921 §3: older clients (libpurple among them) establish a
	// "session" after binding. It is a no-op since RFC 6121, and the
	// feature is advertised as optional, but it must be answered with a
	// result, not an error.
	r.HandleIQ(nsSession, ToServer|ToSelf, func(ctx context.Context, iq *IQ) (*stanza.Element, error) {
		if iq.Type != "set" {
			return nil, BadRequest("session is a set")
		}
		return nil, nil
	})
}

func (s *Server) discoInfo(ctx context.Context, iq *IQ) (*stanza.Element, error) {
	if iq.Type != "get" {
		return nil, BadRequest("disco#info is a get")
	}
	node := iq.Payload.Get("node")
	if node != "" {
		return nil, ItemNotFound("unknown node")
	}
	q := stanza.New(nsDiscoInfo, "query")
	if iq.To.Localpart() == "" {
		for _, id := range s.reg.identities {
			q.Append(stanza.New(nsDiscoInfo, "identity", "category", id.Category, "type", id.Type, "name", id.Name))
		}
		for _, f := range s.reg.serverFeatures {
			if s.adv == nil || s.adv(iq.From, f) {
				q.Append(stanza.New(nsDiscoInfo, "feature", "var", f))
			}
		}
		return q, nil
	}
	// An account: answered by the server on the user's behalf.
	exists, err := s.acc.Exists(ctx, iq.To.Localpart())
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, ServiceUnavailable("")
	}
	q.Append(stanza.New(nsDiscoInfo, "identity", "category", "account", "type", "registered"))
	for _, f := range s.reg.accountFeats {
		if s.adv == nil || s.adv(iq.From, f) {
			q.Append(stanza.New(nsDiscoInfo, "feature", "var", f))
		}
	}
	return q, nil
}

func (s *Server) discoItems(ctx context.Context, iq *IQ) (*stanza.Element, error) {
	if iq.Type != "get" {
		return nil, BadRequest("disco#items is a get")
	}
	if iq.Payload.Get("node") != "" {
		return nil, ItemNotFound("unknown node")
	}
	q := stanza.New(nsDiscoItems, "query")
	if iq.To.Localpart() == "" {
		domains := make([]string, 0, len(s.reg.domains))
		for d := range s.reg.domains {
			domains = append(domains, d)
		}
		sort.Strings(domains)
		for _, d := range domains {
			q.Append(stanza.New(nsDiscoItems, "item", "jid", d, "name", s.reg.domains[d].name))
		}
	}
	return q, nil
}

func (s *Server) softwareVersion(ctx context.Context, iq *IQ) (*stanza.Element, error) {
	if iq.Type != "get" {
		return nil, BadRequest("version is a get")
	}
	v := s.version
	if v == "" {
		v = "dev"
	}
	return stanza.New(nsVersion, "query").Append(
		stanza.New(nsVersion, "name").SetText("xmppd"),
		stanza.New(nsVersion, "version").SetText(v),
		stanza.New(nsVersion, "os").SetText(runtime.GOOS),
	), nil
}
