package crdtstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/storage/pebble"
)

func TestConcurrentWritersLoseNothing(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := crdt.NewHLC(time.Now)
	// Two "nodes" writing the same user's document at once.
	stores := []*Store{
		New(db.Documents(), "roster", crdt.NewWriter("node-a", clock), crdt.CompactPolicy{MaxLog: 8}),
		New(db.Documents(), "roster", crdt.NewWriter("node-b", crdt.NewHLC(time.Now)), crdt.CompactPolicy{MaxLog: 8}),
	}
	ctx := context.Background()
	const perWriter = 40
	var wg sync.WaitGroup
	for i, st := range stores {
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < perWriter; n++ {
					key := fmt.Sprintf("contact-%d-%d-%d@localhost", i, g, n)
					if _, err := st.Update(ctx, "alice@localhost", func(d *crdt.Doc, w *crdt.Writer) error {
						d.Set(w, key, "name", []byte(key))
						return nil
					}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	doc, err := stores[0].Load(ctx, "alice@localhost")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Len(), 2*2*perWriter; got != want {
		t.Errorf("document has %d contacts, want %d", got, want)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := New(db.Documents(), "roster", crdt.NewWriter("n", crdt.NewHLC(time.Now)), crdt.CompactPolicy{})
	boom := errors.New("boom")
	_, err = st.Update(context.Background(), "u@x", func(d *crdt.Doc, w *crdt.Writer) error {
		d.Add(w, "k")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	doc, _ := st.Load(context.Background(), "u@x")
	if doc.Has("k") {
		t.Error("a failed update was stored")
	}
}
