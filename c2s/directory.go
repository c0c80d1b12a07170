package c2s

import (
	"errors"
	"hash/maphash"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// ErrGone is returned by Resource.Send when the resource has gone away (or
// was closed as a slow consumer): the caller routes the stanza as it would
// for a resource that is not there.
var ErrGone = errors.New("c2s: resource gone")

// A Resource is one bound resource that stanzas can be delivered to. Local
// sessions are Resources; a cluster adds resources on other nodes.
type Resource interface {
	JID() jid.JID
	// Available reports whether the resource has sent available presence,
	// and its priority.
	Available() (available bool, priority int)
	// LastPresence returns the last undirected available presence the
	// resource sent (its 'from' is the full JID), or nil when it is not
	// available. Used to answer probes and to tell newly subscribed
	// contacts. The caller must not modify it.
	LastPresence() *stanza.Element
	// Send queues st for delivery; it never blocks for longer than the
	// slow-consumer grace period. ErrGone means st was not queued.
	Send(st *stanza.Element) error
}

// A Directory maps bare JIDs to their bound resources. Implementations are
// safe for concurrent use and never hold a lock across a Send.
type Directory interface {
	// Resources returns a snapshot of the resources bound for bare (a
	// normalised bare JID string); the caller must not modify it.
	Resources(bare string) []Resource
	// Bind adds r; if a resource with the same full JID was bound, it is
	// replaced and returned (the caller closes it with <conflict/>).
	Bind(r Resource) (replaced Resource)
	// Unbind removes r if it is still the one bound under its JID.
	Unbind(r Resource)
	// Len returns the number of bound resources.
	Len() int
}

// localDirectory is the single-node Directory: a sharded map whose entries
// are copy-on-write slices, so Resources is a lock-held pointer read and
// routing never contends on a global lock.
type localDirectory struct {
	seed   maphash.Seed
	shards [64]dirShard
}

type dirShard struct {
	mu sync.RWMutex
	m  map[string][]Resource
	n  int
}

func newLocalDirectory() *localDirectory {
	d := &localDirectory{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].m = make(map[string][]Resource)
	}
	return d
}

func (d *localDirectory) shard(bare string) *dirShard {
	return &d.shards[maphash.String(d.seed, bare)%uint64(len(d.shards))]
}

func (d *localDirectory) Resources(bare string) []Resource {
	sh := d.shard(bare)
	sh.mu.RLock()
	rs := sh.m[bare]
	sh.mu.RUnlock()
	return rs
}

func (d *localDirectory) Bind(r Resource) Resource {
	j := r.JID()
	bare := j.Bare().String()
	sh := d.shard(bare)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old := sh.m[bare]
	next := make([]Resource, 0, len(old)+1)
	var replaced Resource
	for _, o := range old {
		if o.JID().Resourcepart() == j.Resourcepart() {
			replaced = o
			continue
		}
		next = append(next, o)
	}
	next = append(next, r)
	sh.m[bare] = next
	if replaced == nil {
		sh.n++
	}
	return replaced
}

func (d *localDirectory) Unbind(r Resource) {
	bare := r.JID().Bare().String()
	sh := d.shard(bare)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old := sh.m[bare]
	for i, o := range old {
		if o == r {
			if len(old) == 1 {
				delete(sh.m, bare)
			} else {
				next := make([]Resource, 0, len(old)-1)
				next = append(next, old[:i]...)
				sh.m[bare] = append(next, old[i+1:]...)
			}
			sh.n--
			return
		}
	}
}

func (d *localDirectory) Len() int {
	n := 0
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.RLock()
		n += sh.n
		sh.mu.RUnlock()
	}
	return n
}

// findResource returns the resource of rs whose resourcepart is res.
func findResource(rs []Resource, res string) Resource {
	for _, r := range rs {
		if r.JID().Resourcepart() == res {
			return r
		}
	}
	return nil
}
