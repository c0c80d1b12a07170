package crdtstore

import (
	"container/list"
	"sync"

	"github.com/xmppd/xmppd/crdt"
)

// Bounds of the cache of merged documents that Append works on.
const (
	// DefaultCacheUsers is the most users whose documents are cached.
	DefaultCacheUsers = 1024
	// DefaultCacheBytes bounds the cached documents' stored size (the
	// bytes of their siblings when read, plus the deltas appended since);
	// in memory a decoded document takes several times that.
	DefaultCacheBytes = 32 << 20
	// DefaultFoldSiblings: Append folds a document's siblings into one
	// rather than let it have more than this (as far as this node knows).
	DefaultFoldSiblings = 32
)

// A cached is one user's merged document as this node last saw it. mu
// serialises the Appends of that user on this node and guards the fields.
type cached struct {
	user string
	el   *list.Element // in docCache.lru; nil once evicted

	mu       sync.Mutex
	doc      *crdt.Doc // nil until loaded (or after a failure)
	siblings int       // stored siblings, as far as this node knows
	size     int       // stored bytes, as far as this node knows
}

// A docCache holds cached documents by user, least recently used first
// out, bounded by count and by stored size.
type docCache struct {
	maxUsers, maxBytes int

	mu    sync.Mutex
	users map[string]*cached
	lru   *list.List // of *cached, most recently used at the front
	bytes int        // sum of the sizes last reported with resize
	sizes map[*cached]int
}

func newDocCache(maxUsers, maxBytes int) *docCache {
	return &docCache{maxUsers: maxUsers, maxBytes: maxBytes, users: map[string]*cached{}, lru: list.New(), sizes: map[*cached]int{}}
}

// entry returns user's entry, creating an empty one, and marks it used.
func (c *docCache) entry(user string) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.users[user]; ok {
		c.lru.MoveToFront(e.el)
		return e
	}
	e := &cached{user: user}
	e.el = c.lru.PushFront(e)
	c.users[user] = e
	c.evictLocked(e)
	return e
}

// peek returns user's entry or nil, without marking it used.
func (c *docCache) peek(user string) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[user]
}

// resize records e's stored size (e.mu held) and evicts what no longer
// fits, never e itself.
func (c *docCache) resize(e *cached, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.el == nil {
		return // evicted meanwhile: its size no longer counts
	}
	c.bytes += size - c.sizes[e]
	c.sizes[e] = size
	c.evictLocked(e)
}

// drop forgets user's entry (its document is gone or unknown).
func (c *docCache) drop(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.users[user]; ok {
		c.removeLocked(e)
	}
}

// evictLocked removes least recently used entries other than keep while
// the cache is over a bound.
func (c *docCache) evictLocked(keep *cached) {
	for len(c.users) > c.maxUsers || c.bytes > c.maxBytes {
		last := c.lru.Back()
		if last != nil && last.Value.(*cached) == keep {
			last = last.Prev()
		}
		if last == nil {
			return
		}
		c.removeLocked(last.Value.(*cached))
	}
}

func (c *docCache) removeLocked(e *cached) {
	c.lru.Remove(e.el)
	e.el = nil
	delete(c.users, e.user)
	c.bytes -= c.sizes[e]
	delete(c.sizes, e)
}

// len returns the number of cached users.
func (c *docCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.users)
}
