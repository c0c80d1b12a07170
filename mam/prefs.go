package mam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// maxPrefsJIDs bounds the always and never lists together.
const maxPrefsJIDs = 1000

// Prefs are a user's archiving preferences (XEP-0313 §6.1).
type Prefs struct {
	Default string   `json:"default"` // always, never, roster
	Always  []string `json:"always,omitempty"`
	Never   []string `json:"never,omitempty"`
}

// prefs returns owner's stored preferences, or the configured default.
func (s *Service) prefs(ctx context.Context, owner string) (Prefs, error) {
	now := s.now()
	if p, ok := s.prefsCache.get(owner, now); ok {
		return p, nil
	}
	b, err := s.kv.Get(ctx, storage.Key{Kind: PrefsKind, User: owner})
	if errors.Is(err, storage.ErrNotFound) {
		p := Prefs{Default: s.cfg.defaultMode()}
		s.prefsCache.put(owner, p, now)
		return p, nil
	}
	if err != nil {
		s.m.errors.WithLabelValues("prefs").Inc()
		return Prefs{}, fmt.Errorf("mam: preferences of %s: %w", owner, err)
	}
	var p Prefs
	if err := json.Unmarshal(b, &p); err != nil {
		return Prefs{}, fmt.Errorf("mam: preferences of %s: %w", owner, err)
	}
	s.prefsCache.put(owner, p, now)
	return p, nil
}

// matches reports whether list names with: its bare JID, or exactly its
// full JID.
func matches(list []string, with jid.JID) bool {
	if len(list) == 0 {
		return false // the common case: no need to format with
	}
	return slices.Contains(list, with.Bare().String()) || with.Resourcepart() != "" && slices.Contains(list, with.String())
}

// wanted applies owner's preferences to a message exchanged with with.
func (s *Service) wanted(ctx context.Context, owner string, with jid.JID) (bool, error) {
	p, err := s.prefs(ctx, owner)
	if err != nil {
		return false, err
	}
	switch {
	case matches(p.Never, with):
		return false, nil
	case matches(p.Always, with):
		return true, nil
	}
	switch p.Default {
	case "always":
		return true, nil
	case "roster":
		if s.inRoster == nil {
			return false, nil
		}
		in, err := s.inRoster(ctx, owner, with.Bare().String())
		if err != nil {
			s.m.errors.WithLabelValues("roster").Inc()
			return false, fmt.Errorf("mam: roster of %s: %w", owner, err)
		}
		return in, nil
	}
	return false, nil
}

// handlePrefs answers <prefs/> get and set.
func (s *Service) handlePrefs(ctx context.Context, iq *c2s.IQ) (*stanza.Element, error) {
	owner := iq.From.Bare().String()
	if iq.Type == "get" {
		p, err := s.prefs(ctx, owner)
		if err != nil {
			return nil, err
		}
		return prefsElement(p), nil
	}
	p, err := parsePrefs(iq.Payload)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := s.kv.Put(ctx, storage.Key{Kind: PrefsKind, User: owner}, b); err != nil {
		s.prefsCache.forget(owner) // the write may or may not have happened
		s.m.errors.WithLabelValues("prefs").Inc()
		return nil, fmt.Errorf("mam: store preferences of %s: %w", owner, err)
	}
	s.prefsCache.put(owner, p, s.now())
	return prefsElement(p), nil
}

// parsePrefs reads a <prefs/> set; JIDs are normalised, duplicates
// dropped.
func parsePrefs(el *stanza.Element) (Prefs, error) {
	p := Prefs{Default: el.Get("default")}
	switch p.Default {
	case "always", "never", "roster":
	default:
		return Prefs{}, c2s.BadRequest("default must be always, never or roster")
	}
	list := func(name string) ([]string, error) {
		var out []string
		c := el.Child(NS, name)
		if c == nil {
			return nil, nil
		}
		for _, j := range c.Elements() {
			if j.Name.Space != NS || j.Name.Local != "jid" {
				return nil, c2s.BadRequest("only <jid/> may appear in <" + name + "/>")
			}
			parsed, err := jid.Parse(j.Text())
			if err != nil {
				return nil, c2s.JIDMalformed("invalid JID in <" + name + "/>")
			}
			if s := parsed.String(); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out, nil
	}
	var err error
	if p.Always, err = list("always"); err != nil {
		return Prefs{}, err
	}
	if p.Never, err = list("never"); err != nil {
		return Prefs{}, err
	}
	if len(p.Always)+len(p.Never) > maxPrefsJIDs {
		return Prefs{}, c2s.NotAcceptable(fmt.Sprintf("at most %d JIDs in the preferences", maxPrefsJIDs))
	}
	return p, nil
}

func prefsElement(p Prefs) *stanza.Element {
	el := stanza.New(NS, "prefs", "default", p.Default)
	always, never := stanza.New(NS, "always"), stanza.New(NS, "never")
	for _, j := range p.Always {
		always.Append(stanza.New(NS, "jid").SetText(j))
	}
	for _, j := range p.Never {
		never.Append(stanza.New(NS, "jid").SetText(j))
	}
	return el.Append(always, never)
}
