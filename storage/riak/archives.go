package riak

import (
	"context"
	"fmt"
	"time"

	riakc "github.com/basho/riak-go-client"

	"github.com/xmppd/xmppd/storage"
)

// entryIndex is the secondary index of archive entries. Its term is
// ID (24) ‖ time of the entry (16 hex digits, encodeTime) ‖ With, so that
// a range scan in ID order can filter on Time and With without reading
// the entries.
const entryIndex = "xmppd_entry_bin"

// scanPage is how many index terms one 2i request returns.
const scanPage = 500

// archives is storage.Archives: one object per entry in the KV bucket type,
// bucket "<prefix>archive/<kind>/<user>", key the ID, found through 2i
// range queries on entryIndex (see the package doc).
type archives struct{ b *Backend }

func (a archives) bucket(k storage.Key) string { return a.b.archiveBucket(k) }

func (a archives) entryLoc(k storage.Key, id string) loc {
	return loc{a.b.cfg.KVBucketType, a.bucket(k), id}
}

// hit is one parsed index term.
type hit struct {
	id   string
	ns   int64
	with string
}

func parseTerm(term string) (hit, bool) {
	if len(term) < idLen+timeLen || !validID(term[:idLen]) {
		return hit{}, false
	}
	ns, ok := decodeTime(term[idLen : idLen+timeLen])
	if !ok {
		return hit{}, false
	}
	return hit{id: term[:idLen], ns: ns, with: term[idLen+timeLen:]}, true
}

// scan calls fn with each index hit whose term is in [lo, hi], in term
// (so ID) order, until fn returns false.
func (a archives) scan(ctx context.Context, op string, k storage.Key, lo, hi string, fn func(hit) bool) error {
	var cont []byte
	for {
		cmd, err := a.b.exec(ctx, op, k.String(), func() (riakc.Command, error) {
			bld := riakc.NewSecondaryIndexQueryCommandBuilder().
				WithBucketType(a.b.cfg.KVBucketType).WithBucket(a.bucket(k)).
				WithIndexName(entryIndex).WithRange(lo, hi).
				WithReturnKeyAndIndex(true).WithMaxResults(scanPage).WithPaginationSort(true)
			if cont != nil {
				bld = bld.WithContinuation(cont)
			}
			return bld.Build()
		})
		if err != nil {
			return err
		}
		resp := cmd.(*riakc.SecondaryIndexQueryCommand).Response
		if resp == nil {
			return nil
		}
		for _, r := range resp.Results {
			h, ok := parseTerm(string(r.IndexKey))
			if !ok {
				return fmt.Errorf("riak: %s %s: malformed index term %q", op, k, r.IndexKey)
			}
			if !fn(h) {
				return nil
			}
		}
		if len(resp.Continuation) == 0 {
			return nil
		}
		cont = resp.Continuation
	}
}

// Append finds the newest entry at or after e.Time (normally none) so that
// the new ID sorts after every existing one, then stores the entry.
func (a archives) Append(ctx context.Context, k storage.Key, e storage.ArchiveEntry) (string, error) {
	const op = "archive_append"
	if err := validKey("archive append", k); err != nil {
		return "", err
	}
	if err := a.b.checkSize("archive append", k, e.Data); err != nil {
		return "", err
	}
	entryNS := nanos(e.Time)
	ns := entryNS
	err := a.scan(ctx, op, k, encodeTime(ns), "\xff", func(h hit) bool {
		if t, ok := idNanos(h.id); ok && t >= ns {
			ns = t + 1
		}
		return true
	})
	if err != nil {
		return "", err
	}
	id := newID(ns)
	term := id + encodeTime(entryNS) + e.With
	err = a.b.store(ctx, op, a.entryLoc(k, id), e.Data, storeOpts{indexes: map[string][]string{entryIndex: {term}}})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Query scans the index in ID order from the lowest ID the query allows,
// filtering on the terms, and reads only the entries it returns. A
// forward query stops after Max+1 matches; a Last query scans the whole
// range, as 2i cannot scan backwards.
func (a archives) Query(ctx context.Context, k storage.Key, q storage.ArchiveQuery) (storage.ArchiveResult, error) {
	const op = "archive_query"
	if err := validKey("archive query", k); err != nil {
		return storage.ArchiveResult{}, err
	}
	// An entry's ID time is never before its Time, so IDs below Start's
	// time cannot match; the upper bounds are checked on each term.
	lo := "0"
	if !q.Start.IsZero() {
		lo = max(lo, encodeTime(nanos(q.Start)))
	}
	if q.AfterID != "" {
		lo = max(lo, q.AfterID)
	}
	hi := "\xff"
	if q.BeforeID != "" {
		hi = q.BeforeID + "\xff"
	}
	match := func(h hit) bool {
		switch {
		case q.AfterID != "" && h.id <= q.AfterID,
			q.BeforeID != "" && h.id >= q.BeforeID,
			!q.Start.IsZero() && h.ns < nanos(q.Start),
			!q.End.IsZero() && h.ns > nanos(q.End),
			q.With != "" && h.with != q.With:
			return false
		}
		return true
	}
	var hits []hit
	if lo <= hi {
		err := a.scan(ctx, op, k, lo, hi, func(h hit) bool {
			if !match(h) {
				return true
			}
			hits = append(hits, h)
			if q.Max > 0 && q.Last && len(hits) > 2*q.Max+1 {
				hits = append(hits[:0], hits[len(hits)-q.Max-1:]...)
			}
			return q.Last || q.Max <= 0 || len(hits) <= q.Max
		})
		if err != nil {
			return storage.ArchiveResult{}, err
		}
	}
	res := storage.ArchiveResult{Complete: true}
	if q.Max > 0 && len(hits) > q.Max {
		res.Complete = false
		if q.Last {
			hits = hits[len(hits)-q.Max:]
		} else {
			hits = hits[:q.Max]
		}
	}
	for _, h := range hits {
		e, found, err := a.read(ctx, op, k, h.id)
		if err != nil {
			return storage.ArchiveResult{}, err
		}
		if found {
			res.Entries = append(res.Entries, e)
		}
	}
	return res, nil
}

// read fetches one entry; found is false when it is gone.
func (a archives) read(ctx context.Context, op string, k storage.Key, id string) (storage.ArchiveEntry, bool, error) {
	resp, err := a.b.fetch(ctx, op, a.entryLoc(k, id), false)
	if err != nil {
		return storage.ArchiveEntry{}, false, err
	}
	for _, o := range resp.Values {
		if o.IsTombstone || resp.IsNotFound {
			continue
		}
		for _, term := range o.Indexes[entryIndex] {
			if h, ok := parseTerm(term); ok && h.id == id {
				return storage.ArchiveEntry{ID: id, Time: time.Unix(0, h.ns).UTC(), With: h.with, Data: o.Value}, true, nil
			}
		}
		return storage.ArchiveEntry{}, false, fmt.Errorf("riak: %s %s: entry %s has no index term", op, k, id)
	}
	return storage.ArchiveEntry{}, false, nil
}

// Get reads one entry by ID.
func (a archives) Get(ctx context.Context, k storage.Key, id string) (storage.ArchiveEntry, error) {
	if err := validKey("archive get", k); err != nil {
		return storage.ArchiveEntry{}, err
	}
	if validID(id) {
		e, found, err := a.read(ctx, "archive_get", k, id)
		if err != nil || found {
			return e, err
		}
	}
	return storage.ArchiveEntry{}, fmt.Errorf("riak: archive get %s %q: %w", k, id, storage.ErrNotFound)
}

// DeleteBefore scans the whole index (an entry's Time may be before its ID
// time) and deletes the entries older than t.
func (a archives) DeleteBefore(ctx context.Context, k storage.Key, t time.Time) error {
	if err := validKey("archive delete before", k); err != nil {
		return err
	}
	cut := nanos(t)
	return a.deleteWhere(ctx, "archive_delete_before", k, func(h hit) bool { return h.ns < cut })
}

// Clear deletes every entry.
func (a archives) Clear(ctx context.Context, k storage.Key) error {
	if err := validKey("archive clear", k); err != nil {
		return err
	}
	return a.deleteWhere(ctx, "archive_clear", k, func(hit) bool { return true })
}

func (a archives) deleteWhere(ctx context.Context, op string, k storage.Key, pick func(hit) bool) error {
	var ids []string
	err := a.scan(ctx, op, k, "0", "\xff", func(h hit) bool {
		if pick(h) {
			ids = append(ids, h.id)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.b.remove(ctx, op, a.entryLoc(k, id), nil); err != nil {
			return err
		}
	}
	return nil
}
