package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

func testConcurrency(t *testing.T, h Harness) {
	t.Run("queue pushes", func(t *testing.T) {
		const writers, each = 16, 40
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		k := storage.Key{Kind: "offline", User: "juliet@example.com"}
		run(t, writers, func(w int) error {
			for i := range each {
				if _, err := q.Push(c, k, fmt.Appendf(nil, "%d/%d", w, i), 0); err != nil {
					return err
				}
			}
			return nil
		})
		items, err := q.Peek(c, k, 0)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		if len(items) != writers*each {
			t.Fatalf("Peek returned %d items, want %d", len(items), writers*each)
		}
		next := make([]int, writers) // next index expected from each writer
		for j, it := range items {
			if j > 0 && it.ID <= items[j-1].ID {
				t.Errorf("item %d has ID %q after %q; want rising IDs", j, it.ID, items[j-1].ID)
			}
			var w, i int
			if _, err := fmt.Sscanf(string(it.Data), "%d/%d", &w, &i); err != nil || w < 0 || w >= writers {
				t.Fatalf("unexpected item %q", it.Data)
			}
			if i != next[w] {
				t.Errorf("writer %d: item %d came where %d was expected (per-writer order lost)", w, i, next[w])
			}
			next[w] = i + 1
		}
		if n, err := q.Len(c, k); err != nil || n != writers*each {
			t.Errorf("Len = %d, %v; want %d", n, err, writers*each)
		}
	})

	t.Run("queue limit under contention", func(t *testing.T) {
		const writers, each, limit = 16, 8, 50
		e := newEnv(t, h)
		q, c := e.b.Queues(), ctx(t)
		k := storage.Key{Kind: "offline", User: "juliet@example.com"}
		var mu sync.Mutex
		accepted, full := 0, 0
		run(t, writers, func(w int) error {
			for i := range each {
				_, err := q.Push(c, k, fmt.Appendf(nil, "%d/%d", w, i), limit)
				mu.Lock()
				switch {
				case err == nil:
					accepted++
				case errors.Is(err, storage.ErrQueueFull):
					full++
				default:
					mu.Unlock()
					return err
				}
				mu.Unlock()
			}
			return nil
		})
		if accepted != limit || full != writers*each-limit {
			t.Errorf("accepted %d, refused %d; want %d accepted, %d refused", accepted, full, limit, writers*each-limit)
		}
		if n, err := q.Len(c, k); err != nil || n != limit {
			t.Errorf("Len = %d, %v; want %d", n, err, limit)
		}
	})

	t.Run("archive appends", func(t *testing.T) {
		const writers, each = 8, 25
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		k := storage.Key{Kind: "mam", User: "room@conference.example.com"}
		now := time.Now().UTC().Truncate(time.Millisecond)
		var mu sync.Mutex
		var ids []string
		run(t, writers, func(w int) error {
			for i := range each {
				id, err := a.Append(c, k, storage.ArchiveEntry{Time: now, With: fmt.Sprint(w), Data: fmt.Appendf(nil, "%d/%d", w, i)})
				if err != nil {
					return err
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
			return nil
		})
		res, err := a.Query(c, k, storage.ArchiveQuery{})
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		sort.Strings(ids)
		if got := entryIDs(res.Entries); !slices.Equal(got, ids) || len(slices.Compact(slices.Clone(ids))) != writers*each {
			t.Errorf("Query returned %d entries, Append returned %d IDs (want %d unique, equal sets)", len(got), len(ids), writers*each)
		}
		next := make(map[string]int)
		for _, en := range res.Entries {
			var w, i int
			fmt.Sscanf(string(en.Data), "%d/%d", &w, &i)
			if en.With != fmt.Sprint(w) || i != next[en.With] {
				t.Errorf("entry %s %q: per-writer order lost or With mismatched", en.ID, en.Data)
			}
			next[en.With] = i + 1
		}
	})

	t.Run("document read-merge-write", func(t *testing.T) {
		const writers, each = 8, 15
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		k := storage.Key{Kind: "roster", User: "juliet@example.com"}
		run(t, writers, func(w int) error {
			for i := range each {
				doc, err := d.Get(c, k)
				if err != nil {
					return err
				}
				set := mergeSets(doc.Siblings)
				set[fmt.Sprintf("%d/%d", w, i)] = true
				if err := d.Put(c, k, doc.Context, encodeSet(set)); err != nil {
					return err
				}
			}
			return nil
		})
		doc, err := d.Get(c, k)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		set := mergeSets(doc.Siblings)
		var lost []string
		for w := range writers {
			for i := range each {
				if e := fmt.Sprintf("%d/%d", w, i); !set[e] {
					lost = append(lost, e)
				}
			}
		}
		if len(lost) > 0 || len(set) != writers*each {
			t.Errorf("after %d concurrent updates the merged document has %d elements; lost %q", writers*each, len(set), lost)
		}
		// One write with the final context collapses whatever siblings remain.
		mustDo(t, "Put merged", d.Put(c, k, doc.Context, encodeSet(set)))
		wantSiblings(t, d, k, string(encodeSet(set)))
	})

	t.Run("KV create race", func(t *testing.T) {
		const writers = 16
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		k := storage.Key{Kind: "account", User: "juliet@example.com"}
		var mu sync.Mutex
		var winners []int
		run(t, writers, func(w int) error {
			err := kv.Create(c, k, fmt.Append(nil, w))
			if errors.Is(err, storage.ErrExists) {
				return nil
			}
			if err == nil {
				mu.Lock()
				winners = append(winners, w)
				mu.Unlock()
			}
			return err
		})
		if len(winners) != 1 {
			t.Fatalf("%d concurrent Creates succeeded (%v), want exactly 1", len(winners), winners)
		}
		wantKV(t, kv, k, fmt.Sprint(winners[0]))
	})
}

// run calls f(0) … f(n-1) concurrently and fails t with the first error.
func run(t *testing.T, n int, f func(w int) error) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(w); err != nil {
				errs <- fmt.Errorf("writer %d: %w", w, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// mergeSets is the test's CRDT: a grow-only set of strings, one per line,
// merged by union.
func mergeSets(siblings [][]byte) map[string]bool {
	set := make(map[string]bool)
	for _, s := range siblings {
		for _, e := range strings.Split(string(s), "\n") {
			if e != "" {
				set[e] = true
			}
		}
	}
	return set
}

func encodeSet(set map[string]bool) []byte {
	elems := make([]string, 0, len(set))
	for e := range set {
		elems = append(elems, e)
	}
	sort.Strings(elems)
	return []byte(strings.Join(elems, "\n"))
}
