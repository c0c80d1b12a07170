package c2s

import (
	"context"
	"fmt"
	"time"
)

// Deleting an account ends its sessions with <not-authorized/> (XEP-0077
// §3.2, RFC 6120 §4.9.3.12): the credentials they authenticated with no
// longer exist.

// accountRemovedWait bounds how long an in-band removal waits for the
// account's sessions to finish before its OnAccountRemoved hooks run.
const accountRemovedWait = 30 * time.Second

// CloseAccount ends every bound session of bare (a bare JID whose account
// was deleted) with a <not-authorized/> stream error carrying text, and
// returns once each has finished closing — left the directory and run its
// close hooks — or when ctx ends (the error says how many were still
// closing). It returns how many sessions it closed. It must not be called
// from a session of bare (that session would wait for itself).
func (s *Server) CloseAccount(ctx context.Context, bare, text string) (int, error) {
	j, err := ParseJID(bare)
	if err != nil {
		return 0, fmt.Errorf("c2s: close account: %w", err)
	}
	closing := s.closeAccount(j.Bare().String(), text)
	return len(closing), waitClosed(ctx, closing)
}

// closeAccount starts closing the sessions of bare and returns them.
func (s *Server) closeAccount(bare, text string) []*Session {
	var closing []*Session
	for _, r := range s.dir.Resources(bare) {
		if sess, ok := r.(*Session); ok {
			sess.closeWith(&streamError{cond: streamNotAuthorized, text: text})
			closing = append(closing, sess)
		}
	}
	return closing
}

// waitClosed waits until every session in closing has finished: a bound
// session's writer ends only after finish ran the close hooks.
func waitClosed(ctx context.Context, closing []*Session) error {
	for i, sess := range closing {
		select {
		case <-sess.writerDone:
		case <-ctx.Done():
			return fmt.Errorf("c2s: %d of %d sessions still closing: %w", len(closing)-i, len(closing), ctx.Err())
		}
	}
	return nil
}

// accountRemoved closes every session of the account bare, removed in-band
// from one of them, and runs the OnAccountRemoved hooks once they have
// all finished (in a goroutine: the calling session cannot wait for
// itself).
func (s *Server) accountRemoved(bare string) {
	closing := s.closeAccount(bare, "account removed")
	if len(s.reg.accountRemoved) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), accountRemovedWait)
		defer cancel()
		if err := waitClosed(ctx, closing); err != nil {
			s.log.Warn("account removed in-band: purging its data while sessions still close", "jid", bare, "err", err)
		}
		for _, h := range s.reg.accountRemoved {
			h(context.Background(), bare)
		}
	}()
}
