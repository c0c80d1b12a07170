package pebble

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/storagetest"
)

func openTest(t *testing.T, dir string) *DB {
	t.Helper()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return d
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t *testing.T) storage.Backend {
			return openTest(t, t.TempDir())
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			d := b.(*DB)
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openTest(t, d.dir)
		},
	})
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "store")
	d := openTest(t, dir)
	defer d.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Open did not create %s: %v", dir, err)
	}
	if err := d.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	d := openTest(t, dir)
	start := time.Now()
	_, err := Open(dir, Options{LockTimeout: 200 * time.Millisecond})
	waited := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if waited < 200*time.Millisecond {
		t.Errorf("second Open gave up after %v, before its 200ms timeout", waited)
	}
	if _, err := Open(dir, Options{LockTimeout: -1}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open without waiting = %v, want ErrLocked", err)
	}

	// Released on Close; an Open that is waiting gets in.
	got := make(chan error, 1)
	go func() {
		d2, err := Open(dir, Options{LockTimeout: 10 * time.Second})
		if err == nil {
			err = d2.Close()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-got; err != nil {
		t.Errorf("Open waiting for the lock: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	d := openTest(t, t.TempDir())
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestTooLarge(t *testing.T) {
	d, err := Open(t.TempDir(), Options{MaxValueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	k := storage.Key{Kind: "k", User: "u"}
	big := make([]byte, 11)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"KV.Put", d.KV().Put(ctx, k, big)},
		{"KV.Create", d.KV().Create(ctx, k, big)},
		{"Documents.Put", d.Documents().Put(ctx, k, nil, big)},
		{"Queues.Push", func() error { _, err := d.Queues().Push(ctx, k, big, 0); return err }()},
		{"Archives.Append", func() error {
			_, err := d.Archives().Append(ctx, k, storage.ArchiveEntry{Time: time.Now(), Data: big})
			return err
		}()},
	} {
		if !errors.Is(tc.err, storage.ErrTooLarge) {
			t.Errorf("%s(11 bytes, limit 10) = %v, want ErrTooLarge", tc.name, tc.err)
		}
	}
	if err := d.KV().Put(ctx, k, big[:10]); err != nil {
		t.Errorf("KV.Put at the limit: %v", err)
	}
}

func TestDocumentBadContext(t *testing.T) {
	d := openTest(t, t.TempDir())
	defer d.Close()
	k := storage.Key{Kind: "roster", User: "u"}
	if err := d.Documents().Put(context.Background(), k, []byte("xyz"), []byte("v")); err == nil {
		t.Error("Put with a malformed context succeeded")
	}
}

// TestArchiveSkew covers entries whose ID was pushed past their Time by a
// clock step back: time bounds and DeleteBefore must still find them.
func TestArchiveSkew(t *testing.T) {
	d := openTest(t, t.TempDir())
	defer d.Close()
	ctx := context.Background()
	a := d.Archives()
	k := storage.Key{Kind: "mam", User: "u"}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{t0.Add(time.Hour), t0, t0.Add(30 * time.Minute), t0.Add(2 * time.Hour)}
	var ids []string
	for _, tm := range times {
		id, err := a.Append(ctx, k, storage.ArchiveEntry{Time: tm})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	query := func(q storage.ArchiveQuery) []string {
		res, err := a.Query(ctx, k, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range res.Entries {
			got = append(got, e.ID)
		}
		return got
	}
	if got, want := query(storage.ArchiveQuery{End: t0.Add(40 * time.Minute)}), []string{ids[1], ids[2]}; !slices.Equal(got, want) {
		t.Errorf("Query(End t0+40m) = %q, want %q", got, want)
	}
	if got, want := query(storage.ArchiveQuery{Start: t0.Add(10 * time.Minute), End: t0.Add(time.Hour)}), []string{ids[0], ids[2]}; !slices.Equal(got, want) {
		t.Errorf("Query(t0+10m..t0+1h) = %q, want %q", got, want)
	}
	if err := a.DeleteBefore(ctx, k, t0.Add(45*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := query(storage.ArchiveQuery{}), []string{ids[0], ids[3]}; !slices.Equal(got, want) {
		t.Errorf("after DeleteBefore(t0+45m) = %q, want %q", got, want)
	}
}

func TestIDs(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0000000000000000"},
		{1, "0000000000000001"},
		{0xabcdef, "0000000000abcdef"},
		{1<<64 - 1, "ffffffffffffffff"},
	} {
		if got := formatID(tc.n); got != tc.want {
			t.Errorf("formatID(%d) = %q, want %q", tc.n, got, tc.want)
		}
		if n, ok := parseID(tc.want); !ok || n != tc.n {
			t.Errorf("parseID(%q) = %d, %v; want %d", tc.want, n, ok, tc.n)
		}
	}
	for _, bad := range []string{"", "1", "000000000000000g", "000000000000000A", "00000000000000001"} {
		if _, ok := parseID(bad); ok {
			t.Errorf("parseID(%q) accepted a malformed ID", bad)
		}
	}
	if formatID(255) >= formatID(256) {
		t.Error("formatID does not sort numerically")
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte("a\x00"), []byte("a\x01")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("\xff\xff"), nil},
	} {
		if got := prefixEnd(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("prefixEnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
