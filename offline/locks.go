package offline

import (
	"hash/maphash"
	"sync"
)

// userLocks hands out one mutex per user, kept only while someone holds or
// waits for it, in sharded maps so that users never contend on one lock.
type userLocks struct {
	seed   maphash.Seed
	shards [64]lockShard
}

type lockShard struct {
	mu sync.Mutex
	m  map[string]*userLock
}

type userLock struct {
	mu   sync.Mutex
	refs int // guarded by the shard's mu
}

// init prepares l; it must run before lock.
func (l *userLocks) init() {
	l.seed = maphash.MakeSeed()
	for i := range l.shards {
		l.shards[i].m = map[string]*userLock{}
	}
}

// lock locks user's mutex and returns its unlock function.
func (l *userLocks) lock(user string) (unlock func()) {
	sh := &l.shards[maphash.String(l.seed, user)%uint64(len(l.shards))]
	sh.mu.Lock()
	ul := sh.m[user]
	if ul == nil {
		ul = &userLock{}
		sh.m[user] = ul
	}
	ul.refs++
	sh.mu.Unlock()
	ul.mu.Lock()
	return func() {
		ul.mu.Unlock()
		sh.mu.Lock()
		if ul.refs--; ul.refs == 0 {
			delete(sh.m, user)
		}
		sh.mu.Unlock()
	}
}
