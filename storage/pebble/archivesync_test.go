package pebble

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/storagetest"
)

// The whole conformance suite again with every archive append waiting for
// its own fsync (the deferred sync is TestConformance's default).
func TestConformanceSyncedArchive(t *testing.T) {
	open := func(t *testing.T, dir string) storage.Backend {
		d, err := Open(dir, Options{ArchiveSync: -1})
		if err != nil {
			t.Fatal(err)
		}
		if d.sync != nil {
			t.Fatal("ArchiveSync < 0 started a syncer")
		}
		return d
	}
	storagetest.Run(t, storagetest.Harness{
		Open: func(t *testing.T) storage.Backend { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			d := b.(*DB)
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, d.dir)
		},
	})
}

var syncKey = storage.Key{Kind: "mam", User: "juliet@example.com"}

func appendN(t *testing.T, d *DB, n int) {
	t.Helper()
	for i := range n {
		e := storage.ArchiveEntry{Time: time.Now(), With: "romeo@example.net", Data: fmt.Append(nil, i)}
		if _, err := d.Archives().Append(context.Background(), syncKey, e); err != nil {
			t.Fatal(err)
		}
	}
}

// Appends inside one window share one sync, and Close syncs what is
// pending before the engine closes.
func TestArchiveSyncShared(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{ArchiveSync: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, d, 100)
	if n := d.sync.syncs.Load(); n != 0 {
		t.Fatalf("%d syncs inside an hour-long window, want 0", n)
	}
	res, err := d.Archives().Query(context.Background(), syncKey, storage.ArchiveQuery{})
	if err != nil || len(res.Entries) != 100 {
		t.Fatalf("before the sync a query sees %d entries, %v; want 100", len(res.Entries), err)
	}
	syncer := d.sync
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := syncer.syncs.Load(); n != 1 {
		t.Fatalf("Close did %d syncs, want 1", n)
	}
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err = d.Archives().Query(context.Background(), syncKey, storage.ArchiveQuery{})
	if err != nil || len(res.Entries) != 100 {
		t.Fatalf("after reopening the archive holds %d entries, %v; want 100", len(res.Entries), err)
	}
}

// An append is synced once its window has passed, with no further append
// to trigger it, and an idle store does not sync at all.
func TestArchiveSyncAfterWindow(t *testing.T) {
	d, err := Open(t.TempDir(), Options{ArchiveSync: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	appendN(t, d, 1)
	deadline := time.Now().Add(10 * time.Second)
	for d.sync.syncs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no sync 10s after an append with a 1ms window")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // twenty windows with nothing to sync
	if n := d.sync.syncs.Load(); n != 1 {
		t.Fatalf("%d syncs for one append, want 1", n)
	}
}
