package mam

import (
	"time"

	"github.com/xmppd/xmppd/shardmap"
)

// prefsCache keeps recently read preferences, because every archived
// message consults the preferences of both parties and almost nobody has
// stored any: without it each message cost two storage reads. An entry
// lives prefsTTL, so a change made through another node of a cluster (or an
// account removed by the admin API, which does not pass through this
// Service) is seen within that time; a change made here replaces the entry
// at once. Bounded (shardmap): a full shard is emptied and refills from
// storage.
type prefsCache struct {
	m *shardmap.Map[cachedPrefs]
}

type cachedPrefs struct {
	p       Prefs
	expires time.Time
}

const (
	prefsPerShard = 1024
	prefsTTL      = 30 * time.Second
)

func newPrefsCache() *prefsCache {
	return &prefsCache{m: shardmap.New[cachedPrefs](prefsPerShard)}
}

// get returns owner's cached preferences if fresh at now.
func (c *prefsCache) get(owner string, now time.Time) (Prefs, bool) {
	e, ok := c.m.Get(owner)
	if !ok || !now.Before(e.expires) {
		return Prefs{}, false
	}
	return e.p, true
}

// put caches p for owner as read or written at now.
func (c *prefsCache) put(owner string, p Prefs, now time.Time) {
	c.m.Put(owner, cachedPrefs{p: p, expires: now.Add(prefsTTL)})
}

// forget drops owner's entry.
func (c *prefsCache) forget(owner string) { c.m.Delete(owner) }
