package muc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/c2s"
	"github.com/xmppd/xmppd/stanza"
)

// relayCap bounds the IQs awaiting a response from an occupant; the oldest
// is forgotten (its response then dropped) when a new one would exceed it.
const relayCap = 4096

// A pendingIQ is a request passed to an occupant, awaiting its response.
type pendingIQ struct {
	room      string // room key
	requester string // the requester's real full JID
	reqNick   string // the requester's nick: the response comes to room/reqNick
	target    string // the occupant's real full JID: the response comes from it
	nick      string // the occupant's nick: the response goes out from room/nick
	id        string // the requester's id
}

// iqRelay remembers requests passed to occupants under ids of its own, so
// that occupants never see the requester's id or real JID, and nobody can
// answer a request they were not sent.
type iqRelay struct {
	mu      sync.Mutex
	pending map[string]pendingIQ
	order   []string // ids oldest first; may hold ids already answered
}

func newIQRelay() *iqRelay { return &iqRelay{pending: map[string]pendingIQ{}} }

// add stores p under a fresh random id and returns the id.
func (r *iqRelay) add(p pendingIQ) string {
	var b [12]byte
	rand.Read(b[:])
	id := "muc-" + hex.EncodeToString(b[:])
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.pending) >= relayCap && len(r.order) > 0 {
		delete(r.pending, r.order[0])
		r.order = r.order[1:]
	}
	if len(r.order) >= 2*relayCap {
		// Compact ids already answered so order stays bounded too.
		kept := r.order[:0]
		for _, k := range r.order {
			if _, ok := r.pending[k]; ok {
				kept = append(kept, k)
			}
		}
		r.order = kept
	}
	r.pending[id] = p
	r.order = append(r.order, id)
	return id
}

// take removes and returns the request with id, if any.
func (r *iqRelay) take(id string) (pendingIQ, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if ok {
		delete(r.pending, id)
	}
	return p, ok
}

// size is the number of requests awaiting a response.
func (r *iqRelay) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// forwardIQ passes an IQ request from occupant o to the occupant under
// nick (XEP-0045 §7.2.x "IQ requests to occupants", §18.1.4): to its real
// full JID, from o's room JID, under an id of the relay's.
func (svc *Service) forwardIQ(rm *Room, o *occupant, st *stanza.Element, nick string) error {
	target := rm.byNick[nick]
	if target == nil {
		return c2s.ItemNotFound("no occupant with that nickname")
	}
	id := svc.relay.add(pendingIQ{room: rm.key, requester: o.full, reqNick: o.nick, target: target.full, nick: nick, id: st.Get("id")})
	out := st.ShallowCopy()
	out.Set("id", id)
	out.Set("from", rm.occupantJID(o.nick))
	out.Set("to", target.full)
	svc.deliver(target, out)
	return nil
}

// relayResponse passes an occupant's response to a forwarded request back
// to its requester, from the occupant's room JID. Responses nobody is
// waiting for, or from anyone but the occupant asked, are dropped.
func (svc *Service) relayResponse(ctx context.Context, c *client, st *stanza.Element, to jid.JID) {
	p, ok := svc.relay.take(st.Get("id"))
	if !ok {
		return
	}
	if p.target != c.jid.String() || p.room != to.Bare().String() || p.reqNick != to.Resourcepart() {
		// Not the occupant asked: keep waiting for the real answer.
		svc.relay.mu.Lock()
		svc.relay.pending[st.Get("id")] = p
		svc.relay.mu.Unlock()
		return
	}
	rm := svc.lookup(p.room)
	if rm == nil {
		return
	}
	defer rm.mu.Unlock()
	req := rm.byJID[p.requester]
	if req == nil {
		return // the requester left
	}
	out := st.ShallowCopy()
	out.Set("id", p.id)
	out.Set("from", rm.occupantJID(p.nick))
	out.Set("to", p.requester)
	svc.deliver(req, out)
}
