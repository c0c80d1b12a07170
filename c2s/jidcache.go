package c2s

import (
	"hash/maphash"
	"sync"

	"mellium.im/xmpp/jid"
)

// addrCache remembers how recently seen address strings parse. A client
// sends thousands of stanzas to the same few JIDs, and parsing one (the
// PRECIS profiles and IDNA of RFC 7622) costs more allocations than
// routing the stanza. Parsing is a pure function of the string, so a
// cached answer is always right; only successful parses are kept. Bounded:
// a full shard is emptied and refills.
type addrCache struct {
	seed   maphash.Seed
	shards [addrShards]addrShard
}

type addrShard struct {
	mu sync.Mutex
	m  map[string]parsedAddr
}

// parsedAddr is an address as ParseJID returns it and its normalised
// spelling.
type parsedAddr struct {
	j    jid.JID
	norm string
}

const (
	addrShards   = 64
	addrPerShard = 1024
)

func newAddrCache() *addrCache { return &addrCache{seed: maphash.MakeSeed()} }

// parse is ParseJID with the normalised string, through the cache.
func (c *addrCache) parse(raw string) (jid.JID, string, error) {
	sh := &c.shards[maphash.String(c.seed, raw)%addrShards]
	sh.mu.Lock()
	p, ok := sh.m[raw]
	sh.mu.Unlock()
	if ok {
		return p.j, p.norm, nil
	}
	j, err := ParseJID(raw)
	if err != nil {
		return jid.JID{}, "", err
	}
	p = parsedAddr{j: j, norm: j.String()}
	sh.mu.Lock()
	if len(sh.m) >= addrPerShard || sh.m == nil {
		sh.m = make(map[string]parsedAddr, 64)
	}
	sh.m[raw] = p
	sh.mu.Unlock()
	return p.j, p.norm, nil
}
