package offline

import (
	"context"
	"errors"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// batchSize is how many stored messages are read, sent and acknowledged
// at a time.
const batchSize = 100

// onAvailable delivers the queue to a session that sent initial presence
// with a non-negative priority (XEP-0160 §2).
func (s *Service) onAvailable(ctx context.Context, sess *c2s.Session) {
	dir := sess.Server().Directory()
	s.dir.CompareAndSwap(nil, &dir)
	_, prio := sess.Available()
	s.deliverable.Set(sess, prio >= 0)
	if prio >= 0 {
		s.deliverTo(ctx, sess)
	}
}

// onPresence watches later undirected presence: a session that raises its
// priority from negative to non-negative gets the queue then; one that
// goes unavailable is forgotten, so its next initial presence counts
// again. It never takes a stanza over.
func (s *Service) onPresence(ctx context.Context, sess *c2s.Session, p *stanza.Element) (bool, error) {
	if p.Get("to") != "" {
		return false, nil
	}
	switch p.Get("type") {
	case "":
		had, seen := s.deliverable.Get(sess)
		if !seen {
			return false, nil // initial presence: onAvailable follows
		}
		avail, prio := sess.Available()
		switch {
		case avail && prio >= 0 && !had:
			s.deliverable.Set(sess, true)
			s.deliverTo(ctx, sess)
		case prio < 0:
			s.deliverable.Set(sess, false)
		}
	case "unavailable":
		s.deliverable.Delete(sess)
	}
	return false, nil
}

// deliverTo sends sess's user's queue to sess.
func (s *Service) deliverTo(ctx context.Context, sess *c2s.Session) {
	bare := sess.JID().Bare().String()
	if _, err := s.deliver(ctx, bare, sess); err != nil && !errors.Is(err, c2s.ErrGone) {
		sess.Log().Error("delivering offline messages failed", "feature", "offline", "err", err)
	}
}

// flushIfOnline delivers bare's queue to one of its resources that is
// available with a non-negative priority, if there is one: the message
// just pushed may have missed that resource's own delivery.
func (s *Service) flushIfOnline(ctx context.Context, bare string) {
	dp := s.dir.Load()
	if dp == nil {
		return
	}
	var best c2s.Resource
	bestPrio := -1
	for _, r := range (*dp).Resources(bare) {
		if avail, prio := r.Available(); avail && prio > bestPrio {
			best, bestPrio = r, prio
		}
	}
	if best == nil {
		return
	}
	if _, err := s.deliver(ctx, bare, best); err != nil && !errors.Is(err, c2s.ErrGone) {
		s.log.Error("delivering offline messages failed", "jid", bare, "err", err)
	}
}

// deliver sends bare's stored messages to r in FIFO order, acknowledging
// each batch once all of its Sends succeeded, and returns how many it
// sent. It holds bare's lock throughout, so concurrent deliveries for one
// user never send a message twice. If r goes away midway it returns
// c2s.ErrGone after acknowledging what r accepted (the core reroutes
// that, should r die before writing it).
func (s *Service) deliver(ctx context.Context, bare string, r c2s.Resource) (int, error) {
	unlock := s.locks.lock(bare)
	defer unlock()
	k := key(bare)
	sent := 0
	for {
		items, err := s.q.Peek(ctx, k, batchSize)
		if err != nil {
			return sent, err
		}
		if len(items) == 0 {
			return sent, nil
		}
		if sent == 0 {
			n := len(items)
			if n == batchSize {
				if total, err := s.q.Len(ctx, k); err == nil {
					n = total
				}
			}
			s.m.queueLength.Observe(float64(n))
		}
		ack := make([]string, 0, len(items))
		var sendErr error
		for _, it := range items {
			msg, err := decode(it.Data)
			if err != nil {
				// Unreadable forever: keeping it would block the queue.
				// The content is private, so only its size is logged.
				s.m.corrupt.Inc()
				s.log.Error("dropping unreadable offline message", "jid", bare, "id", it.ID, "bytes", len(it.Data), "err", err)
				ack = append(ack, it.ID)
				continue
			}
			if sendErr = r.Send(msg); sendErr != nil {
				break
			}
			ack = append(ack, it.ID)
			sent++
			s.m.delivered.Inc()
		}
		if len(ack) > 0 {
			if err := s.q.Ack(ctx, k, ack...); err != nil {
				// Sent but still stored: delivered again next time,
				// never lost.
				return sent, err
			}
		}
		if sendErr != nil {
			return sent, sendErr
		}
		if len(items) < batchSize {
			return sent, nil
		}
	}
}
