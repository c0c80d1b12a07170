package c2s

import (
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/shardmap"
)

// addrCache remembers how recently seen address strings parse. A client
// sends thousands of stanzas to the same few JIDs, and parsing one (the
// PRECIS profiles and IDNA of RFC 7622) costs more allocations than
// routing the stanza. Parsing is a pure function of the string, so a
// cached answer is always right; only successful parses are kept. Bounded
// by shardmap: a full shard is emptied and refills.
type addrCache struct {
	m *shardmap.Map[parsedAddr]
}

// parsedAddr is an address as ParseJID returns it and its normalised
// spelling.
type parsedAddr struct {
	j    jid.JID
	norm string
}

// addrPerShard bounds the cache at 64 × 1024 addresses.
const addrPerShard = 1024

func newAddrCache() *addrCache { return &addrCache{m: shardmap.New[parsedAddr](addrPerShard)} }

// parse is ParseJID with the normalised string, through the cache.
func (c *addrCache) parse(raw string) (jid.JID, string, error) {
	if p, ok := c.m.Get(raw); ok {
		return p.j, p.norm, nil
	}
	j, err := ParseJID(raw)
	if err != nil {
		return jid.JID{}, "", err
	}
	p := parsedAddr{j: j, norm: j.String()}
	c.m.Put(raw, p)
	return p.j, p.norm, nil
}
