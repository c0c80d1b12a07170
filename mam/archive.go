package mam

import (
	"context"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// pruneEvery is how often one node runs DeleteBefore on one archive.
const pruneEvery = time.Hour

// archivable reports whether msg belongs in an archive (XEP-0313 §5.1.1,
// XEP-0334 hints).
func archivable(msg *stanza.Element) bool {
	if t := msg.Get("type"); t != "" && t != "chat" && t != "normal" {
		return false
	}
	if msg.Child(nsHints, "no-store") != nil || msg.Child(nsHints, "no-permanent-store") != nil {
		return false
	}
	return msg.Child(stanza.NSClient, "body") != nil || msg.Child(nsHints, "store") != nil
}

// onSent archives a message a client sent in the sender's archive.
func (s *Service) onSent(ctx context.Context, sess *c2s.Session, msg *stanza.Element) {
	s.outgoing(ctx, sess.JID().Bare(), msg)
}

// outgoing archives msg, sent by owner, in owner's archive.
func (s *Service) outgoing(ctx context.Context, owner jid.JID, msg *stanza.Element) {
	if !archivable(msg) || msg.Get("to") == "" {
		return
	}
	to, err := jid.Parse(msg.Get("to"))
	if err != nil || to.Localpart() == "" && to.Resourcepart() == "" {
		return // the server itself: nothing is said to anyone
	}
	if to.Bare().Equal(owner) {
		return // to oneself: archived once, on the way in
	}
	s.archive(ctx, owner.String(), to, msg, "out")
}

// onIn archives a message for its recipient and stamps it with the
// archive id.
func (s *Service) onIn(ctx context.Context, to jid.JID, msg *stanza.Element) {
	owner := to.Bare().String()
	stripForeignIDs(msg, owner)
	if !archivable(msg) {
		return
	}
	from, err := jid.Parse(msg.Get("from"))
	if err != nil {
		return
	}
	if id := s.archive(ctx, owner, from, msg, "in"); id != "" {
		msg.Append(stanza.New(NSSID, "stanza-id", "by", owner, "id", id))
	}
}

// stripForeignIDs removes stanza ids claiming to come from by: only this
// server may add them (XEP-0359 §3.1).
func stripForeignIDs(msg *stanza.Element, by string) {
	kept := msg.Children[:0]
	for _, n := range msg.Children {
		if c := n.Elem; c != nil && c.Name.Space == NSSID && c.Name.Local == "stanza-id" && c.Get("by") == by {
			continue
		}
		kept = append(kept, n)
	}
	for i := len(kept); i < len(msg.Children); i++ {
		msg.Children[i] = stanza.Node{}
	}
	msg.Children = kept
}

// archive appends msg to owner's archive when the preferences allow,
// returning the entry's id ("" when not archived).
func (s *Service) archive(ctx context.Context, owner string, with jid.JID, msg *stanza.Element, direction string) string {
	ok, err := s.wanted(ctx, owner, with)
	if err != nil {
		s.log.Error("archive preferences unavailable; archiving", "jid", owner, "err", err)
		ok = true // keeping a message the user may not want beats losing one
	}
	if !ok {
		s.m.skipped.WithLabelValues("prefs").Inc()
		return ""
	}
	now := s.now().UTC()
	id, err := s.arch.Append(ctx, s.key(owner), storage.ArchiveEntry{Time: now, With: with.Bare().String(), Data: msg.AppendXML(nil, "")})
	if err != nil {
		s.m.errors.WithLabelValues("append").Inc()
		s.log.Error("archiving a message failed", "jid", owner, "err", err)
		return ""
	}
	s.m.archived.WithLabelValues(direction).Inc()
	s.prune(ctx, owner, now)
	return id
}

// prune removes expired entries of owner's archive, at most once per
// pruneEvery on this node.
func (s *Service) prune(ctx context.Context, owner string, now time.Time) {
	if s.cfg.retention() == 0 {
		return
	}
	if last, ok := s.pruned.Load(owner); ok && now.Sub(last.(time.Time)) < pruneEvery {
		return
	}
	s.pruned.Store(owner, now)
	if err := s.arch.DeleteBefore(ctx, s.key(owner), now.Add(-s.cfg.retention())); err != nil {
		s.m.errors.WithLabelValues("prune").Inc()
		s.log.Error("removing expired archive entries failed", "jid", owner, "err", err)
	}
}
