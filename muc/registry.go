package muc

import (
	"hash/maphash"
	"sort"
	"sync"
)

// registry maps room bare JIDs to rooms. It is sharded so that looking a
// room up — what every groupchat message does first — only takes the read
// lock of one shard out of 64; nothing else is shared between rooms.
type registry struct {
	seed   maphash.Seed
	shards [64]regShard
}

type regShard struct {
	mu sync.RWMutex
	m  map[string]*Room
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = map[string]*Room{}
	}
	return r
}

func (r *registry) shard(key string) *regShard {
	return &r.shards[maphash.String(r.seed, key)%uint64(len(r.shards))]
}

// get returns the room, or nil.
func (r *registry) get(key string) *Room {
	sh := r.shard(key)
	sh.mu.RLock()
	rm := sh.m[key]
	sh.mu.RUnlock()
	return rm
}

// getOrCreate returns the room under key, creating it with mk when absent.
func (r *registry) getOrCreate(key string, mk func() *Room) (rm *Room, created bool) {
	if rm := r.get(key); rm != nil {
		return rm, false
	}
	sh := r.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if rm := sh.m[key]; rm != nil {
		return rm, false
	}
	rm = mk()
	sh.m[key] = rm
	return rm, true
}

// remove deletes key if it still maps to rm.
func (r *registry) remove(key string, rm *Room) bool {
	sh := r.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m[key] == rm {
		delete(sh.m, key)
		return true
	}
	return false
}

// all returns every room, sorted by JID (disco#items).
func (r *registry) all() []*Room {
	var out []*Room
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for _, rm := range sh.m {
			out = append(out, rm)
		}
		sh.mu.RUnlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// userCounts counts the rooms each account is in, sharded like registry;
// it is touched on join and leave only.
type userCounts struct {
	seed   maphash.Seed
	shards [32]struct {
		mu sync.Mutex
		m  map[string]int
	}
}

func newUserCounts() *userCounts {
	u := &userCounts{seed: maphash.MakeSeed()}
	for i := range u.shards {
		u.shards[i].m = map[string]int{}
	}
	return u
}

// add adds delta to bare's count unless the result would exceed max
// (max <= 0: no limit); it reports whether it did.
func (u *userCounts) add(bare string, delta, max int) bool {
	sh := &u.shards[maphash.String(u.seed, bare)%uint64(len(u.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n := sh.m[bare] + delta
	if delta > 0 && max > 0 && n > max {
		return false
	}
	if n <= 0 {
		delete(sh.m, bare)
	} else {
		sh.m[bare] = n
	}
	return true
}

// count returns how many rooms there are.
func (r *registry) count() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
