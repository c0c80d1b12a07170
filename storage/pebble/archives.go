package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/xmppd/xmppd/storage"
)

// archives implements storage.Archives. An entry's ID is max(Time in Unix
// nanoseconds, previous ID + 1) as 16 hex digits, so IDs follow Time, stay
// strictly increasing when the clock steps back, and ID ≥ Time always. The
// archive's meta key keeps the last ID and the largest ID − Time skew seen,
// which bounds where an entry with a given Time can sit: a Start bound is a
// seek, an End bound stops the scan at End + skew. With is a filter applied
// while scanning.
type archives struct{ d *DB }

// archiveMeta is the per-archive state Append needs.
type archiveMeta struct {
	last uint64 // greatest ID handed out
	skew uint64 // greatest ID − nanos(Time) of any entry
}

var maxNanosTime = time.Unix(0, math.MaxInt64)

// nanos maps t onto the ID scale, clamping times outside what Unix
// nanoseconds can hold. It never decreases as t grows.
func nanos(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(maxNanosTime):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

func (s archives) Append(ctx context.Context, k storage.Key, e storage.ArchiveEntry) (string, error) {
	if err := k.Validate(); err != nil {
		return "", keyErr("archive append", k, err)
	}
	if err := s.d.checkSize(len(e.Data) + len(e.With)); err != nil {
		return "", keyErr("archive append", k, err)
	}
	var id string
	err := s.d.do(ctx, func() error {
		stripe := s.d.stripe(tagArchive, k)
		mu := &s.d.locks[stripe]
		mu.Lock()
		defer mu.Unlock()
		m, err := s.d.cachedArchiveMeta(stripe, k)
		if err != nil {
			return err
		}
		if m.last == math.MaxUint64 {
			return errors.New("archive ID space exhausted")
		}
		t := nanos(e.Time)
		n := max(t, m.last+1)
		m.last, m.skew = n, max(m.skew, n-t)
		id = formatID(n)
		b := s.d.db.NewBatch()
		b.Set(withSuffix(entryPrefix(tagArchive, k), id), encodeEntry(e), nil)
		b.Set(userKey(tagArchMeta, k), m.encode(), nil)
		if s.d.sync == nil {
			err = commit(b)
		} else {
			err = b.Commit(pebble.NoSync)
			b.Close()
		}
		if err != nil {
			delete(s.d.metas[stripe], metaKey(k)) // unknown whether it was applied
			return err
		}
		s.d.cacheArchiveMeta(stripe, k, m)
		if s.d.sync != nil {
			s.d.sync.dirty()
		}
		return nil
	})
	if err != nil {
		return "", keyErr("archive append", k, err)
	}
	return id, nil
}

func (s archives) Query(ctx context.Context, k storage.Key, q storage.ArchiveQuery) (storage.ArchiveResult, error) {
	if err := k.Validate(); err != nil {
		return storage.ArchiveResult{}, keyErr("archive query", k, err)
	}
	var res storage.ArchiveResult
	err := s.d.do(ctx, func() error {
		m, err := s.d.archiveMeta(k)
		if err != nil {
			return err
		}
		prefix := entryPrefix(tagArchive, k)
		lower, upper := prefix, prefixEnd(prefix)
		raise := func(b []byte) {
			if bytes.Compare(b, lower) > 0 {
				lower = b
			}
		}
		cut := func(b []byte) {
			if bytes.Compare(b, upper) < 0 {
				upper = b
			}
		}
		if q.AfterID != "" {
			raise(append(withSuffix(prefix, q.AfterID), 0)) // least ID > AfterID
		}
		if q.BeforeID != "" {
			cut(withSuffix(prefix, q.BeforeID))
		}
		if !q.Start.IsZero() {
			raise(withSuffix(prefix, formatID(nanos(q.Start))))
		}
		if end := nanos(q.End); !q.End.IsZero() && end <= math.MaxUint64-m.skew {
			cut(append(withSuffix(prefix, formatID(end+m.skew)), 0))
		}
		if bytes.Compare(lower, upper) >= 0 {
			res.Complete = true
			return nil
		}
		res, err = s.d.scanArchive(lower, upper, len(prefix), q)
		return err
	})
	if err != nil {
		return storage.ArchiveResult{}, keyErr("archive query", k, err)
	}
	return res, nil
}

// scanArchive walks [lower, upper) forwards, or backwards when q.Last is
// set, collecting up to q.Max entries that match q and looking one match
// further to decide Complete.
func (d *DB) scanArchive(lower, upper []byte, prefixLen int, q storage.ArchiveQuery) (storage.ArchiveResult, error) {
	var res storage.ArchiveResult
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return res, err
	}
	defer it.Close()
	first, step := it.First, it.Next
	if q.Last {
		first, step = it.Last, it.Prev
	}
	res.Complete = true
	for ok := first(); ok; ok = step() {
		v, err := it.ValueAndErr()
		if err != nil {
			return res, err
		}
		e, err := decodeEntry(v)
		if err != nil {
			return res, fmt.Errorf("entry %q: %w", it.Key(), err)
		}
		if (!q.Start.IsZero() && e.Time.Before(q.Start)) ||
			(!q.End.IsZero() && e.Time.After(q.End)) ||
			(q.With != "" && e.With != q.With) {
			continue
		}
		if q.Max > 0 && len(res.Entries) == q.Max {
			res.Complete = false
			break
		}
		e.ID = string(it.Key()[prefixLen:])
		res.Entries = append(res.Entries, e)
	}
	if err := it.Error(); err != nil {
		return res, err
	}
	if q.Last {
		slices.Reverse(res.Entries)
	}
	return res, nil
}

func (s archives) Get(ctx context.Context, k storage.Key, id string) (storage.ArchiveEntry, error) {
	if err := k.Validate(); err != nil {
		return storage.ArchiveEntry{}, keyErr("archive get", k, err)
	}
	var e storage.ArchiveEntry
	err := s.d.do(ctx, func() error {
		if _, ok := parseID(id); !ok {
			return storage.ErrNotFound
		}
		v, ok, err := s.d.get(withSuffix(entryPrefix(tagArchive, k), id))
		if err != nil {
			return err
		}
		if !ok {
			return storage.ErrNotFound
		}
		e, err = decodeEntry(v)
		e.ID = id
		return err
	})
	if err != nil {
		return storage.ArchiveEntry{}, fmt.Errorf("pebble: archive get %q/%q id %q: %w", k.Kind, k.User, id, err)
	}
	return e, nil
}

func (s archives) DeleteBefore(ctx context.Context, k storage.Key, t time.Time) error {
	if err := k.Validate(); err != nil {
		return keyErr("archive delete before", k, err)
	}
	err := s.d.do(ctx, func() error {
		mu := s.d.lockKey(tagArchive, k)
		mu.Lock()
		defer mu.Unlock()
		m, err := s.d.archiveMeta(k)
		if err != nil {
			return err
		}
		prefix := entryPrefix(tagArchive, k)
		tn := nanos(t)
		// IDs below nanos(t) belong to entries older than t; one range
		// deletion removes them all.
		cutoff := withSuffix(prefix, formatID(tn))
		b := s.d.db.NewBatch()
		defer b.Close()
		if found, err := s.d.anyKey(prefix, cutoff); err != nil {
			return err
		} else if found {
			b.DeleteRange(prefix, cutoff, nil)
		}
		// Entries whose ID was pushed past nanos(t) by a clock step back
		// lie within the skew above it.
		upper := prefixEnd(prefix)
		if tn <= math.MaxUint64-m.skew {
			upper = append(withSuffix(prefix, formatID(tn+m.skew)), 0)
		}
		it, err := s.d.db.NewIter(&pebble.IterOptions{LowerBound: cutoff, UpperBound: upper})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			if e, err := decodeEntry(v); err != nil {
				return fmt.Errorf("entry %q: %w", it.Key(), err)
			} else if e.Time.Before(t) {
				b.Delete(append([]byte{}, it.Key()...), nil)
			}
		}
		if err := it.Error(); err != nil || b.Empty() {
			return err
		}
		return b.Commit(pebble.Sync)
	})
	if err != nil {
		return keyErr("archive delete before", k, err)
	}
	return nil
}

func (s archives) Clear(ctx context.Context, k storage.Key) error {
	if err := k.Validate(); err != nil {
		return keyErr("archive clear", k, err)
	}
	err := s.d.do(ctx, func() error {
		stripe := s.d.stripe(tagArchive, k)
		mu := &s.d.locks[stripe]
		mu.Lock()
		defer mu.Unlock()
		delete(s.d.metas[stripe], metaKey(k))
		meta := userKey(tagArchMeta, k)
		if _, ok, err := s.d.get(meta); err != nil || !ok {
			return err // an archive never appended to has nothing to clear
		}
		prefix := entryPrefix(tagArchive, k)
		b := s.d.db.NewBatch()
		b.DeleteRange(prefix, prefixEnd(prefix), nil)
		b.Delete(meta, nil)
		return commit(b)
	})
	if err != nil {
		return keyErr("archive clear", k, err)
	}
	return nil
}

// anyKey reports whether a key exists in [lower, upper).
func (d *DB) anyKey(lower, upper []byte) (bool, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, err
	}
	ok := it.First()
	if err := it.Close(); err != nil {
		return false, err
	}
	return ok, nil
}

func (d *DB) archiveMeta(k storage.Key) (archiveMeta, error) {
	v, ok, err := d.get(userKey(tagArchMeta, k))
	if err != nil || !ok {
		return archiveMeta{}, err
	}
	if len(v) != 16 {
		return archiveMeta{}, fmt.Errorf("corrupt archive meta %x", v)
	}
	return archiveMeta{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, nil
}

// metaKey is k's key in the archive meta cache.
func metaKey(k storage.Key) string { return k.Kind + "\x00" + k.User }

// cachedArchiveMeta is archiveMeta through the cache; the caller holds
// k's archive stripe lock.
func (d *DB) cachedArchiveMeta(stripe uint64, k storage.Key) (archiveMeta, error) {
	if m, ok := d.metas[stripe][metaKey(k)]; ok {
		return m, nil
	}
	return d.archiveMeta(k)
}

// cacheArchiveMeta remembers m as k's meta; the caller holds k's archive
// stripe lock and has just written m.
func (d *DB) cacheArchiveMeta(stripe uint64, k storage.Key, m archiveMeta) {
	c, key := d.metas[stripe], metaKey(k)
	if _, ok := c[key]; !ok && len(c) >= metasPerStripe || c == nil {
		c = make(map[string]archiveMeta, 8)
		d.metas[stripe] = c
	}
	c[key] = m
}

func (m archiveMeta) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, m.last), m.skew)
}

// encodeEntry lays an entry out as Unix seconds (8 bytes), nanoseconds
// (4 bytes), uvarint length of With, With, Data. The ID is the key.
func encodeEntry(e storage.ArchiveEntry) []byte {
	b := make([]byte, 0, 12+binary.MaxVarintLen64+len(e.With)+len(e.Data))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Time.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(e.With)))
	b = append(b, e.With...)
	return append(b, e.Data...)
}

// decodeEntry is the inverse of encodeEntry; the returned entry does not
// alias v.
func decodeEntry(v []byte) (storage.ArchiveEntry, error) {
	if len(v) < 13 {
		return storage.ArchiveEntry{}, errors.New("corrupt entry: too short")
	}
	sec := int64(binary.BigEndian.Uint64(v))
	nsec := int64(binary.BigEndian.Uint32(v[8:]))
	n, size := binary.Uvarint(v[12:])
	rest := v[12+max(size, 0):]
	if size <= 0 || n > uint64(len(rest)) {
		return storage.ArchiveEntry{}, errors.New("corrupt entry: bad with length")
	}
	return storage.ArchiveEntry{
		Time: time.Unix(sec, nsec).UTC(),
		With: string(rest[:n]),
		Data: append([]byte{}, rest[n:]...),
	}, nil
}
