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

// The cache answers what was put, and forgets on request. (The bound is
// shardmap's, tested there.)
func TestPrefsCacheForget(t *testing.T) {
	c := newPrefsCache()
	now := time.Unix(1e9, 0)
	c.put("alice@x", Prefs{Default: "never"}, now)
	if p, ok := c.get("alice@x", now); !ok || p.Default != "never" {
		t.Fatalf("get after put = %+v, %v", p, ok)
	}
	c.forget("alice@x")
	if _, ok := c.get("alice@x", now); ok {
		t.Fatal("forgotten entry still cached")
	}
}
