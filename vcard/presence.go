package vcard

import (
	"context"
	"errors"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
	"github.com/xmppd/xmppd/storage"
)

// decorate puts the user's avatar hash into an available presence
// (XEP-0153 §4.3).
func (s *Service) decorate(ctx context.Context, sess *c2s.Session, p *stanza.Element) {
	ph, ok := hashSlot.Get(sess)
	if !ok {
		var err error
		if ph, err = s.loadHash(ctx, sess.JID().Bare().String()); err != nil {
			s.log.Error("avatar hash unavailable; presence sent as is", "jid", sess.JID().String(), "err", err)
			return
		}
		hashSlot.Set(sess, ph)
	}
	if !ph.known {
		return
	}
	p.RemoveChildren(NSUpdate, "x")
	p.Append(updateElement(ph.hash))
}

func updateElement(hash string) *stanza.Element {
	photo := stanza.New(NSUpdate, "photo")
	if hash != "" {
		photo.SetText(hash)
	}
	return stanza.New(NSUpdate, "x").Append(photo)
}

// loadHash reads user's stored avatar hash.
func (s *Service) loadHash(ctx context.Context, user string) (photoHash, error) {
	b, err := s.kv.Get(ctx, storage.Key{Kind: HashKind, User: user})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return photoHash{}, nil
	case err != nil:
		s.m.errors.Inc()
		return photoHash{}, err
	}
	return photoHash{known: true, hash: string(b)}, nil
}

// cacheHash gives the user's sessions on this node their new hash.
func (s *Service) cacheHash(dir c2s.Directory, user string, ph photoHash) {
	for _, r := range dir.Resources(user) {
		if sess, ok := r.(*c2s.Session); ok {
			hashSlot.Set(sess, ph)
		}
	}
}
