package c2s

import (
	"fmt"
	"testing"
)

func TestAddrCache(t *testing.T) {
	c := newAddrCache()
	for range 2 { // the second round is answered from the cache
		j, norm, err := c.parse("Juliet@Example.COM/Balcony")
		if err != nil || norm != "juliet@example.com/Balcony" || j.String() != norm {
			t.Fatalf("parse = %v %q %v, want the normalised JID", j, norm, err)
		}
		if _, _, err := c.parse("a@example.net.."); err == nil {
			t.Fatal("an address ParseJID refuses was accepted")
		}
	}
	for i := range 5000 {
		raw := fmt.Sprintf("u%d@example.net", i)
		if _, norm, err := c.parse(raw); err != nil || norm != raw {
			t.Fatalf("parse(%q) = %q, %v", raw, norm, err)
		}
	}
	if n := c.m.Len(); n > 64*addrPerShard {
		t.Fatalf("the cache holds %d addresses, bound %d", n, 64*addrPerShard)
	}
}
