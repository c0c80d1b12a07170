package mam

import (
	"hash/maphash"
	"sync"
	"time"
)

// prefsCache keeps recently read preferences, because every archived
// message consults the preferences of both parties and almost nobody has
// stored any: without it each message cost two storage reads. An entry
// lives prefsTTL, so a change made through another node of a cluster (or an
// account removed by the admin API, which does not pass through this
// Service) is seen within that time; a change made here replaces the entry
// at once. Bounded: a full shard is emptied and refills from storage.
type prefsCache struct {
	seed   maphash.Seed
	shards [prefsShards]prefsShard
}

type prefsShard struct {
	mu      sync.Mutex
	entries map[string]cachedPrefs
}

type cachedPrefs struct {
	p       Prefs
	expires time.Time
}

const (
	prefsShards   = 64
	prefsPerShard = 1024
	prefsTTL      = 30 * time.Second
)

func newPrefsCache() *prefsCache { return &prefsCache{seed: maphash.MakeSeed()} }

func (c *prefsCache) shard(owner string) *prefsShard {
	return &c.shards[maphash.String(c.seed, owner)%prefsShards]
}

// get returns owner's cached preferences if fresh at now.
func (c *prefsCache) get(owner string, now time.Time) (Prefs, bool) {
	sh := c.shard(owner)
	sh.mu.Lock()
	e, ok := sh.entries[owner]
	sh.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return Prefs{}, false
	}
	return e.p, true
}

// put caches p for owner as read or written at now.
func (c *prefsCache) put(owner string, p Prefs, now time.Time) {
	sh := c.shard(owner)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.entries[owner]; !ok && len(sh.entries) >= prefsPerShard || sh.entries == nil {
		sh.entries = make(map[string]cachedPrefs, 16)
	}
	sh.entries[owner] = cachedPrefs{p: p, expires: now.Add(prefsTTL)}
}

// forget drops owner's entry.
func (c *prefsCache) forget(owner string) {
	sh := c.shard(owner)
	sh.mu.Lock()
	delete(sh.entries, owner)
	sh.mu.Unlock()
}
