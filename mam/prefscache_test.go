package mam

import (
	"context"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// Preferences changed behind the Service's back (another node, the admin
// API's account removal) are seen once the cache entry expires; until then
// reads cost no storage access.
func TestPrefsCacheExpiry(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	p, err := h.svc.prefs(ctx, "alice@x")
	if err != nil || p.Default != "always" {
		t.Fatalf("prefs of a user with none = %+v, %v; want the configured default", p, err)
	}
	if err := h.db.KV().Put(ctx, storage.Key{Kind: PrefsKind, User: "alice@x"}, []byte(`{"default":"never"}`)); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.svc.prefs(ctx, "alice@x"); p.Default != "always" {
		t.Fatalf("a fresh cache entry was not used: got %+v", p)
	}
	h.clock.mu.Lock()
	h.clock.t = h.clock.t.Add(prefsTTL)
	h.clock.mu.Unlock()
	if p, _ := h.svc.prefs(ctx, "alice@x"); p.Default != "never" {
		t.Fatalf("after %v the stored preferences are not seen: got %+v", prefsTTL, p)
	}
}

// A full shard is emptied rather than grown, and answers stay right.
func TestPrefsCacheBounded(t *testing.T) {
	c := newPrefsCache()
	now := time.Unix(1e9, 0)
	owners := make([]string, 0, prefsShards*prefsPerShard*2)
	for i := range cap(owners) {
		owners = append(owners, "u"+time.Duration(i).String())
	}
	for _, o := range owners {
		c.put(o, Prefs{Default: o}, now)
	}
	for i := range c.shards {
		if n := len(c.shards[i].entries); n > prefsPerShard {
			t.Fatalf("shard %d holds %d entries, bound %d", i, n, prefsPerShard)
		}
	}
	for _, o := range owners {
		if p, ok := c.get(o, now); ok && p.Default != o {
			t.Fatalf("entry of %s = %+v", o, p)
		}
	}
	c.forget(owners[len(owners)-1])
	if _, ok := c.get(owners[len(owners)-1], now); ok {
		t.Fatal("forgotten entry still cached")
	}
}
