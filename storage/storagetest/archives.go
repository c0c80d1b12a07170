package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// archiveT0 is the time of the first entry of the test archives; entry i is
// archived i minutes later.
var archiveT0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func entryTime(i int) time.Time { return archiveT0.Add(time.Duration(i) * time.Minute) }

func testArchives(t *testing.T, h Harness) {
	k := storage.Key{Kind: "mam", User: "juliet@example.com"}

	t.Run("empty", func(t *testing.T) {
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		res, err := a.Query(c, k, storage.ArchiveQuery{})
		if err != nil || len(res.Entries) != 0 || !res.Complete {
			t.Errorf("Query(empty archive) = %d entries, complete %v, %v; want none, complete", len(res.Entries), res.Complete, err)
		}
		if _, err := a.Get(c, k, "0000000000000001"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(empty archive) = %v, want ErrNotFound", err)
		}
		mustDo(t, "DeleteBefore on empty archive", a.DeleteBefore(c, k, entryTime(5)))
		mustDo(t, "Clear on empty archive", a.Clear(c, k))
	})

	t.Run("Append and Get", func(t *testing.T) {
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		data := []byte("hello")
		in := storage.ArchiveEntry{ID: "ignored", Time: entryTime(0), With: "romeo@example.net", Data: data}
		id, err := a.Append(c, k, in)
		mustDo(t, "Append", err)
		if id == "" || id == "ignored" {
			t.Errorf("Append returned ID %q, want one assigned by the backend", id)
		}
		data[0] = 'X' // the backend must have copied it
		got, err := a.Get(c, k, id)
		want := storage.ArchiveEntry{ID: id, Time: entryTime(0), With: "romeo@example.net", Data: []byte("hello")}
		if err != nil || !equalEntry(got, want) {
			t.Errorf("Get(%q) = %s, %v; want %s", id, fmtEntry(got), err, fmtEntry(want))
		}
		if _, err := a.Get(c, k, id+"0"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(unknown id) = %v, want ErrNotFound", err)
		}
		other := storage.Key{Kind: "mam", User: "romeo@example.net"}
		if _, err := a.Get(c, other, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(id from another archive) = %v, want ErrNotFound", err)
		}
		other = storage.Key{Kind: "muc", User: k.User}
		if _, err := a.Get(c, other, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(id from another kind) = %v, want ErrNotFound", err)
		}
	})

	t.Run("IDs rise when time goes backwards", func(t *testing.T) {
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		times := []time.Time{entryTime(10), entryTime(5), entryTime(5), entryTime(11), entryTime(0)}
		var ids []string
		for i, tm := range times {
			id, err := a.Append(c, k, storage.ArchiveEntry{Time: tm, Data: fmt.Appendf(nil, "%d", i)})
			mustDo(t, "Append", err)
			if len(ids) > 0 && id <= ids[len(ids)-1] {
				t.Errorf("Append #%d (time %v) returned ID %q after %q; want rising IDs", i, tm, id, ids[len(ids)-1])
			}
			ids = append(ids, id)
		}
		for i, id := range ids {
			got, err := a.Get(c, k, id)
			if err != nil || !got.Time.Equal(times[i]) || string(got.Data) != fmt.Sprint(i) {
				t.Errorf("Get(%q) = %s, %v; want time %v data %d", id, fmtEntry(got), err, times[i], i)
			}
		}
		res, err := a.Query(c, k, storage.ArchiveQuery{})
		if err != nil || !slices.Equal(entryIDs(res.Entries), ids) || !res.Complete {
			t.Errorf("Query(all) = %q complete %v, %v; want %q complete", entryIDs(res.Entries), res.Complete, err, ids)
		}
		// Time bounds apply to Time, not to the order of IDs.
		res, err = a.Query(c, k, storage.ArchiveQuery{Start: entryTime(5), End: entryTime(10)})
		want := []string{ids[0], ids[1], ids[2]}
		if err != nil || !slices.Equal(entryIDs(res.Entries), want) || !res.Complete {
			t.Errorf("Query(5..10 min) = %q complete %v, %v; want %q complete", entryIDs(res.Entries), res.Complete, err, want)
		}
		res, err = a.Query(c, k, storage.ArchiveQuery{End: entryTime(4)})
		want = []string{ids[4]}
		if err != nil || !slices.Equal(entryIDs(res.Entries), want) || !res.Complete {
			t.Errorf("Query(..4 min) = %q complete %v, %v; want %q complete", entryIDs(res.Entries), res.Complete, err, want)
		}
	})

	t.Run("Query", func(t *testing.T) {
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		ids := appendTen(t, a, k)
		// A neighbouring archive must not leak into the results.
		appendTen(t, a, storage.Key{Kind: "mam", User: k.User + ".evil"})
		appendTen(t, a, storage.Key{Kind: "mams", User: k.User})
		r := func(from, to int) []int { // indices from..to inclusive
			var s []int
			for i := from; i <= to; i++ {
				s = append(s, i)
			}
			return s
		}
		for _, tc := range []struct {
			name     string
			q        storage.ArchiveQuery
			want     []int
			complete bool
		}{
			{name: "everything", q: storage.ArchiveQuery{}, want: r(0, 9), complete: true},
			{name: "start inclusive", q: storage.ArchiveQuery{Start: entryTime(3)}, want: r(3, 9), complete: true},
			{name: "start between entries", q: storage.ArchiveQuery{Start: entryTime(3).Add(time.Second)}, want: r(4, 9), complete: true},
			{name: "end inclusive", q: storage.ArchiveQuery{End: entryTime(5)}, want: r(0, 5), complete: true},
			{name: "start and end", q: storage.ArchiveQuery{Start: entryTime(2), End: entryTime(4)}, want: r(2, 4), complete: true},
			{name: "start equals end", q: storage.ArchiveQuery{Start: entryTime(7), End: entryTime(7)}, want: r(7, 7), complete: true},
			{name: "empty range", q: storage.ArchiveQuery{Start: entryTime(20)}, want: nil, complete: true},
			{name: "end before start", q: storage.ArchiveQuery{Start: entryTime(5), End: entryTime(4)}, want: nil, complete: true},
			{name: "with", q: storage.ArchiveQuery{With: "a@example.net"}, want: []int{0, 2, 4, 6, 8}, complete: true},
			{name: "with nobody", q: storage.ArchiveQuery{With: "nobody@example.net"}, want: nil, complete: true},
			{name: "after id", q: storage.ArchiveQuery{AfterID: ids[4]}, want: r(5, 9), complete: true},
			{name: "after last id", q: storage.ArchiveQuery{AfterID: ids[9]}, want: nil, complete: true},
			{name: "before id", q: storage.ArchiveQuery{BeforeID: ids[4]}, want: r(0, 3), complete: true},
			{name: "after and before id", q: storage.ArchiveQuery{AfterID: ids[2], BeforeID: ids[6]}, want: r(3, 5), complete: true},
			{name: "max", q: storage.ArchiveQuery{Max: 3}, want: r(0, 2), complete: false},
			{name: "max exactly all", q: storage.ArchiveQuery{Max: 10}, want: r(0, 9), complete: true},
			{name: "max more than all", q: storage.ArchiveQuery{Max: 11}, want: r(0, 9), complete: true},
			{name: "negative max", q: storage.ArchiveQuery{Max: -1}, want: r(0, 9), complete: true},
			{name: "page forward", q: storage.ArchiveQuery{AfterID: ids[2], Max: 3}, want: r(3, 5), complete: false},
			{name: "page forward to the end", q: storage.ArchiveQuery{AfterID: ids[6], Max: 3}, want: r(7, 9), complete: true},
			{name: "last", q: storage.ArchiveQuery{Max: 3, Last: true}, want: r(7, 9), complete: false},
			{name: "last without max", q: storage.ArchiveQuery{Last: true}, want: r(0, 9), complete: true},
			{name: "last exactly all", q: storage.ArchiveQuery{Max: 10, Last: true}, want: r(0, 9), complete: true},
			{name: "page backward", q: storage.ArchiveQuery{BeforeID: ids[5], Max: 2, Last: true}, want: r(3, 4), complete: false},
			{name: "page backward to the start", q: storage.ArchiveQuery{BeforeID: ids[3], Max: 3, Last: true}, want: r(0, 2), complete: true},
			{name: "last in time range", q: storage.ArchiveQuery{End: entryTime(6), Max: 2, Last: true}, want: r(5, 6), complete: false},
			{name: "with and max", q: storage.ArchiveQuery{With: "b@example.net", Max: 2}, want: []int{1, 3}, complete: false},
			{name: "with, after id, max", q: storage.ArchiveQuery{With: "b@example.net", AfterID: ids[6], Max: 5}, want: []int{7, 9}, complete: true},
			{name: "with, last, max", q: storage.ArchiveQuery{With: "a@example.net", Max: 2, Last: true}, want: []int{6, 8}, complete: false},
			{name: "with, before id, last, max", q: storage.ArchiveQuery{With: "a@example.net", BeforeID: ids[4], Max: 2, Last: true}, want: []int{0, 2}, complete: true},
			{name: "everything combined", q: storage.ArchiveQuery{Start: entryTime(1), End: entryTime(8), With: "a@example.net", AfterID: ids[2], BeforeID: ids[8], Max: 1}, want: []int{4}, complete: false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := a.Query(c, k, tc.q)
				if err != nil {
					t.Fatalf("Query(%+v): %v", tc.q, err)
				}
				var want []string
				for _, i := range tc.want {
					want = append(want, ids[i])
				}
				got := entryIDs(res.Entries)
				if !slices.Equal(got, want) || res.Complete != tc.complete {
					t.Errorf("Query(%+v) = %q complete %v; want %q complete %v", tc.q, got, res.Complete, want, tc.complete)
				}
				for _, en := range res.Entries {
					i := slices.Index(ids, en.ID)
					if i < 0 {
						continue
					}
					if w := tenEntry(i, en.ID); !equalEntry(en, w) {
						t.Errorf("entry %d = %s, want %s", i, fmtEntry(en), fmtEntry(w))
					}
				}
			})
		}
	})

	t.Run("DeleteBefore", func(t *testing.T) {
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		ids := appendTen(t, a, k)
		other := storage.Key{Kind: "mam", User: "romeo@example.net"}
		otherIDs := appendTen(t, a, other)
		mustDo(t, "DeleteBefore", a.DeleteBefore(c, k, entryTime(4)))
		res, err := a.Query(c, k, storage.ArchiveQuery{})
		if err != nil || !slices.Equal(entryIDs(res.Entries), ids[4:]) {
			t.Errorf("Query after DeleteBefore(4 min) = %q, %v; want %q", entryIDs(res.Entries), err, ids[4:])
		}
		if _, err := a.Get(c, k, ids[3]); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(deleted entry) = %v, want ErrNotFound", err)
		}
		res, err = a.Query(c, other, storage.ArchiveQuery{})
		if err != nil || !slices.Equal(entryIDs(res.Entries), otherIDs) {
			t.Errorf("other archive after DeleteBefore = %q, %v; want untouched %q", entryIDs(res.Entries), err, otherIDs)
		}
		// Appending continues with greater IDs.
		id, err := a.Append(c, k, storage.ArchiveEntry{Time: entryTime(1), Data: []byte("late")})
		mustDo(t, "Append", err)
		if id <= ids[9] {
			t.Errorf("Append after DeleteBefore returned ID %q, not greater than %q", id, ids[9])
		}
		mustDo(t, "DeleteBefore", a.DeleteBefore(c, k, entryTime(100)))
		res, err = a.Query(c, k, storage.ArchiveQuery{})
		if err != nil || len(res.Entries) != 0 {
			t.Errorf("Query after DeleteBefore(all) = %q, %v; want none", entryIDs(res.Entries), err)
		}
	})

	t.Run("Clear", func(t *testing.T) {
		e := newEnv(t, h)
		a, c := e.b.Archives(), ctx(t)
		ids := appendTen(t, a, k)
		other := storage.Key{Kind: "mam", User: "romeo@example.net"}
		otherIDs := appendTen(t, a, other)
		mustDo(t, "Clear", a.Clear(c, k))
		res, err := a.Query(c, k, storage.ArchiveQuery{})
		if err != nil || len(res.Entries) != 0 || !res.Complete {
			t.Errorf("Query after Clear = %q complete %v, %v; want none", entryIDs(res.Entries), res.Complete, err)
		}
		if _, err := a.Get(c, k, ids[0]); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after Clear = %v, want ErrNotFound", err)
		}
		res, err = a.Query(c, other, storage.ArchiveQuery{})
		if err != nil || !slices.Equal(entryIDs(res.Entries), otherIDs) {
			t.Errorf("other archive after Clear = %q, %v; want untouched %q", entryIDs(res.Entries), err, otherIDs)
		}
	})
}

// tenEntry is entry i of appendTen.
func tenEntry(i int, id string) storage.ArchiveEntry {
	with := "a@example.net"
	if i%2 == 1 {
		with = "b@example.net"
	}
	return storage.ArchiveEntry{ID: id, Time: entryTime(i), With: with, Data: fmt.Appendf(nil, "message %d", i)}
}

// appendTen appends ten entries, one minute apart, alternately with
// a@example.net and b@example.net, and returns their IDs.
func appendTen(t *testing.T, a storage.Archives, k storage.Key) []string {
	t.Helper()
	var ids []string
	for i := range 10 {
		id, err := a.Append(ctx(t), k, tenEntry(i, ""))
		if err != nil {
			t.Fatalf("Append(%s, #%d): %v", k, i, err)
		}
		if len(ids) > 0 && id <= ids[len(ids)-1] {
			t.Errorf("Append(%s, #%d) returned ID %q after %q; want rising IDs", k, i, id, ids[len(ids)-1])
		}
		ids = append(ids, id)
	}
	return ids
}

func entryIDs(es []storage.ArchiveEntry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func equalEntry(a, b storage.ArchiveEntry) bool {
	return a.ID == b.ID && a.Time.Equal(b.Time) && a.With == b.With && string(a.Data) == string(b.Data)
}

func fmtEntry(e storage.ArchiveEntry) string {
	return fmt.Sprintf("{%s %s with %q %q}", e.ID, e.Time.Format(time.RFC3339Nano), e.With, e.Data)
}
