package shardmap

import (
	"fmt"
	"testing"
)

func TestMap(t *testing.T) {
	m := New[int](4)
	m.Put("a", 1)
	m.Put("a", 2)
	if v, ok := m.Get("a"); !ok || v != 2 {
		t.Fatalf("Get(a) = %v, %v; want 2, true", v, ok)
	}
	m.Delete("a")
	if _, ok := m.Get("a"); ok {
		t.Fatal("a deleted key is still there")
	}
	for i := range shards * 4 * 3 {
		key := fmt.Sprint(i)
		m.Put(key, i)
		if v, ok := m.Get(key); !ok || v != i {
			t.Fatalf("Get(%s) right after Put = %v, %v", key, v, ok)
		}
	}
	if n := m.Len(); n > shards*4 {
		t.Fatalf("Len = %d, over the bound %d", n, shards*4)
	}
	for i := range m.shards {
		if n := len(m.shards[i].m); n > 4 {
			t.Fatalf("shard %d holds %d entries, bound 4", i, n)
		}
	}
	// Overwriting a key in a full shard keeps the shard.
	full := &m.shards[0]
	var key string
	for k := range full.m {
		key = k
		break
	}
	before := len(full.m)
	m.Put(key, -1)
	if len(full.m) != before {
		t.Fatalf("overwriting %q in a full shard emptied it (%d → %d entries)", key, before, len(full.m))
	}
}
