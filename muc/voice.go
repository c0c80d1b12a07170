package muc

import (
	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// voiceRequest handles the muc#request form (XEP-0045 §7.13, §8.6): a
// visitor's request goes to every moderator as an approval form; a
// moderator's submitted approval grants the visitor voice.
func (svc *Service) voiceRequest(rm *Room, c *client, f *form) error {
	o := rm.byJID[c.jid.String()]
	if o == nil {
		return c2s.NotAcceptable("only occupants may request voice")
	}
	if allow, ok := f.value("muc#request_allow"); ok {
		if o.role != roleModerator {
			return c2s.Forbidden("only moderators may approve voice requests")
		}
		if yes, _ := parseBool(allow); !yes {
			return nil
		}
		nick, _ := f.value("muc#roomnick")
		target := rm.byNick[nick]
		if target == nil {
			return c2s.ItemNotFound("no occupant with that nickname")
		}
		if target.role == roleVisitor {
			target.role = roleParticipant
			rm.broadcastPresence(svc, target, "", func(_, item *stanza.Element) {
				item.Append(stanza.New(nsMUCUser, "actor", "nick", o.nick))
			}, nil, nil)
		}
		return nil
	}
	if r, _ := f.value("muc#role"); r != "participant" {
		return c2s.BadRequest("a voice request asks for the participant role")
	}
	if o.role != roleVisitor {
		return c2s.NotAcceptable("you already have voice")
	}
	svc.m.messages.WithLabelValues("voice_request").Inc()
	for _, mod := range rm.list {
		if mod.role != roleModerator {
			continue
		}
		fb := newForm("form", "Voice request", nsRequest).
			field("list-single", "muc#role", "Requested role", []string{"participant"}, "participant", "participant").
			field("jid-single", "muc#jid", "User ID", []string{o.jid.String()}).
			field("text-single", "muc#roomnick", "Room nickname", []string{o.nick}).
			field("boolean", "muc#request_allow", "Grant voice to this person?", []string{"false"})
		svc.deliver(mod, stanza.New(stanza.NSClient, "message", "from", rm.key, "to", mod.jid.String()).Append(fb.x))
	}
	return nil
}
