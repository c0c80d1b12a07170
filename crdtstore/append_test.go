package crdtstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

func openDocs(t *testing.T) storage.Documents {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Documents()
}

func newStore(docs storage.Documents, writer string) *Store {
	return New(docs, "privacy", crdt.NewWriter(writer, crdt.NewHLC(time.Now)), crdt.CompactPolicy{})
}

func siblings(t *testing.T, docs storage.Documents, user string) [][]byte {
	t.Helper()
	d, err := docs.Get(context.Background(), storage.Key{Kind: "privacy", User: user})
	if err != nil {
		t.Fatal(err)
	}
	return d.Siblings
}

func TestAppendWritesDeltasAndFolds(t *testing.T) {
	ctx := context.Background()
	docs := openDocs(t)
	st := newStore(docs, "n")
	st.foldAt = 4
	const user = "u@x"
	if _, err := st.Update(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
		for i := range 1000 {
			d.Set(w, fmt.Sprintf("item/%04d", i), "action", []byte("deny"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	big := len(siblings(t, docs, user)[0])

	for i := range 10 {
		delta, err := st.Append(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
			d.Set(w, fmt.Sprintf("new/%d", i), "action", []byte("deny"))
			if _, ok := d.Remove(w, fmt.Sprintf("item/%04d", i)); !ok {
				return fmt.Errorf("item %d missing from the cached document", i)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if delta.LogLen() != 2 || !delta.Has(fmt.Sprintf("new/%d", i)) {
			t.Fatalf("append %d returned a delta of %d ops", i, delta.LogLen())
		}
		sibs := siblings(t, docs, user)
		// 1 folded document plus the deltas since: at most foldAt.
		if len(sibs) > st.foldAt {
			t.Fatalf("after append %d: %d siblings, more than the fold bound %d", i, len(sibs), st.foldAt)
		}
		for _, b := range sibs {
			if len(b) < big/10 && len(b) > 200 {
				t.Errorf("a delta sibling takes %d bytes", len(b))
			}
		}
	}
	// Appends 0-2 made siblings 2-4, append 3 folded them into one, 4-6
	// made 2-4, 7 folded, 8 and 9 made 2 and 3.
	if n := len(siblings(t, docs, user)); n != 3 {
		t.Errorf("%d siblings after 10 appends with fold bound 4, want 3", n)
	}
	doc, err := newStore(docs, "reader").Load(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Len() != 1000 || doc.Has("item/0003") || !doc.Has("new/9") || !doc.Has("item/0010") {
		t.Errorf("read back %d keys; item/0003 %v, new/9 %v", doc.Len(), doc.Has("item/0003"), doc.Has("new/9"))
	}
}

func TestAppendErrorWritesNothing(t *testing.T) {
	ctx := context.Background()
	docs := openDocs(t)
	st := newStore(docs, "n")
	boom := errors.New("boom")
	if _, err := st.Append(ctx, "u@x", func(d *crdt.Doc, w *crdt.Writer) error {
		d.Add(w, "kept")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := st.Append(ctx, "u@x", func(d *crdt.Doc, w *crdt.Writer) error {
		d.Add(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Append error = %v, want boom", err)
	}
	// Neither the store nor the next append's view holds the half change.
	if _, err := st.Append(ctx, "u@x", func(d *crdt.Doc, w *crdt.Writer) error {
		if d.Has("half") || !d.Has("kept") {
			t.Errorf("the cached document after a failed append: half %v, kept %v", d.Has("half"), d.Has("kept"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	doc, _ := newStore(docs, "reader").Load(ctx, "u@x")
	if doc.Has("half") || !doc.Has("kept") {
		t.Errorf("stored: half %v, kept %v", doc.Has("half"), doc.Has("kept"))
	}
}

// Two nodes (two Stores, two writers) append to one user's document from
// several goroutines each, with a fold bound low enough that folds run
// concurrently with appends, and a whole-document Update now and then.
// Nothing is lost.
func TestAppendConcurrentNodesLoseNothing(t *testing.T) {
	ctx := context.Background()
	docs := openDocs(t)
	stores := []*Store{newStore(docs, "node-a"), newStore(docs, "node-b")}
	for _, st := range stores {
		st.foldAt = 3
	}
	const user, goroutines, perG = "alice@localhost", 3, 30
	var wg sync.WaitGroup
	for i, st := range stores {
		for g := range goroutines {
			wg.Go(func() {
				for n := range perG {
					key := fmt.Sprintf("c-%d-%d-%d", i, g, n)
					var err error
					if n%10 == 9 {
						_, err = st.Update(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
							d.Set(w, key, "v", []byte(key))
							return nil
						})
					} else {
						_, err = st.Append(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
							d.Set(w, key, "v", []byte(key))
							d.Add(w, "tmp/"+key)
							d.Remove(w, "tmp/"+key)
							return nil
						})
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	want := len(stores) * goroutines * perG
	for _, st := range stores {
		doc, err := st.Load(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.Len(); got != want {
			t.Errorf("%s reads %d keys, want %d", st.Writer().ID(), got, want)
		}
		// The refreshed cache holds everything too.
		if _, err := st.Append(ctx, user, func(d *crdt.Doc, _ *crdt.Writer) error {
			if d.Len() != want {
				t.Errorf("%s's cache holds %d keys after a load, want %d", st.Writer().ID(), d.Len(), want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// A cache that missed another node's add cannot remove it (add-wins, as
// if concurrent); after a full read it can.
func TestAppendStaleCacheRemovesWhatItSaw(t *testing.T) {
	ctx := context.Background()
	docs := openDocs(t)
	a, b := newStore(docs, "node-a"), newStore(docs, "node-b")
	add := func(key string) func(*crdt.Doc, *crdt.Writer) error {
		return func(d *crdt.Doc, w *crdt.Writer) error { d.Add(w, key); return nil }
	}
	remove := func(key string) func(*crdt.Doc, *crdt.Writer) error {
		return func(d *crdt.Doc, w *crdt.Writer) error { d.Remove(w, key); return nil }
	}
	if _, err := b.Append(ctx, "u@x", add("seen")); err != nil { // b caches now
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, "u@x", add("unseen")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"seen", "unseen"} {
		if _, err := b.Append(ctx, "u@x", remove(k)); err != nil {
			t.Fatal(err)
		}
	}
	doc, _ := a.Load(ctx, "u@x")
	if doc.Has("seen") || !doc.Has("unseen") {
		t.Fatalf("after b's removes on a stale copy: seen %v (want false), unseen %v (want true)", doc.Has("seen"), doc.Has("unseen"))
	}
	if _, err := b.Load(ctx, "u@x"); err != nil { // refreshes b's cache
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "u@x", remove("unseen")); err != nil {
		t.Fatal(err)
	}
	if doc, _ := a.Load(ctx, "u@x"); doc.Has("unseen") {
		t.Error("a remove after a full read did not reach the other node's add")
	}
}

func TestAppendCacheBounded(t *testing.T) {
	ctx := context.Background()
	docs := openDocs(t)
	st := newStore(docs, "n")
	st.cache = newDocCache(3, DefaultCacheBytes)
	for i := range 10 {
		user := fmt.Sprintf("u%d@x", i)
		for range 2 {
			if _, err := st.Append(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
				d.Add(w, fmt.Sprint(d.Len()))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if n := st.cache.len(); n > 3 {
			t.Fatalf("cache holds %d users, bound 3", n)
		}
	}
	// Evicted users are read again: nothing was lost.
	for i := range 10 {
		doc, _ := st.Load(ctx, fmt.Sprintf("u%d@x", i))
		if doc.Len() != 2 {
			t.Errorf("u%d has %d keys, want 2", i, doc.Len())
		}
	}
	// A byte bound evicts too.
	st.cache = newDocCache(100, 1)
	for i := range 3 {
		if _, err := st.Append(ctx, fmt.Sprintf("u%d@x", i), func(d *crdt.Doc, w *crdt.Writer) error {
			d.Add(w, "more")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.cache.len(); n != 1 {
		t.Errorf("cache over its byte bound holds %d users, want 1 (the one in use)", n)
	}
}

func TestDeleteDropsCache(t *testing.T) {
	ctx := context.Background()
	docs := openDocs(t)
	st := newStore(docs, "n")
	if _, err := st.Append(ctx, "u@x", func(d *crdt.Doc, w *crdt.Writer) error { d.Add(w, "old"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "u@x"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, "u@x", func(d *crdt.Doc, w *crdt.Writer) error {
		if d.Has("old") {
			t.Error("Append after Delete sees the deleted document")
		}
		d.Add(w, "new")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if doc, _ := st.Load(ctx, "u@x"); doc.Has("old") || !doc.Has("new") {
		t.Errorf("after delete and append: old %v, new %v", doc.Has("old"), doc.Has("new"))
	}
}
