// Package shardmap is a bounded map from strings to values, safe for
// concurrent use, for caches on hot paths: the keys hash onto shards, each
// with its own mutex, so concurrent sessions rarely contend.
//
// The bound is per shard and crude on purpose: a shard that is full when a
// new key arrives is emptied, and refills from whatever the cache is in
// front of. No recency list is kept, so a hit costs one lock and one map
// read, and memory stays within shards × perShard entries.
package shardmap

import (
	"hash/maphash"
	"sync"
)

// shards is the number of shards of every Map.
const shards = 64

// A Map is a bounded concurrent map. The zero value is not usable; call New.
type Map[V any] struct {
	seed     maphash.Seed
	perShard int
	shards   [shards]shard[V]
}

type shard[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

// New returns a Map holding at most 64 × perShard entries.
func New[V any](perShard int) *Map[V] {
	return &Map[V]{seed: maphash.MakeSeed(), perShard: max(perShard, 1)}
}

func (c *Map[V]) shard(key string) *shard[V] {
	return &c.shards[maphash.String(c.seed, key)%shards]
}

// Get returns the value stored for key.
func (c *Map[V]) Get(key string) (V, bool) {
	sh := c.shard(key)
	sh.mu.Lock()
	v, ok := sh.m[key]
	sh.mu.Unlock()
	return v, ok
}

// Put stores v for key, emptying key's shard first when it is full and key
// is new.
func (c *Map[V]) Put(key string, v V) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[key]; !ok && len(sh.m) >= c.perShard || sh.m == nil {
		sh.m = make(map[string]V, min(c.perShard, 64))
	}
	sh.m[key] = v
}

// Delete removes key.
func (c *Map[V]) Delete(key string) {
	sh := c.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

// Len returns the number of entries, for tests and metrics.
func (c *Map[V]) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
