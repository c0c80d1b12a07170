package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/xmppd/xmppd/storage"
)

// documents implements storage.Documents on one node. Each sibling is its
// own engine key, suffixed with a version from the store's sequence; the
// causal context of a Get is the greatest version it returned. Writes to a
// key are serialised, so every version written after a Get is greater than
// its context, and Put replaces exactly the siblings with version ≤ context.
type documents struct{ d *DB }

// contextLen is the length of a causal context: one big-endian version.
const contextLen = 8

func (s documents) Get(ctx context.Context, k storage.Key) (storage.Document, error) {
	if err := k.Validate(); err != nil {
		return storage.Document{}, keyErr("document get", k, err)
	}
	var doc storage.Document
	err := s.d.do(ctx, func() error {
		var maxVer uint64
		err := s.d.scanSiblings(k, func(ver uint64, v []byte) {
			doc.Siblings = append(doc.Siblings, append([]byte{}, v...))
			maxVer = max(maxVer, ver)
		})
		if err != nil {
			return err
		}
		if len(doc.Siblings) > 0 {
			doc.Context = binary.BigEndian.AppendUint64(nil, maxVer)
		}
		return nil
	})
	if err != nil {
		return storage.Document{}, keyErr("document get", k, err)
	}
	return doc, nil
}

func (s documents) Put(ctx context.Context, k storage.Key, causal []byte, value []byte) error {
	if err := k.Validate(); err != nil {
		return keyErr("document put", k, err)
	}
	if len(causal) != 0 && len(causal) != contextLen {
		return keyErr("document put", k, errors.New("invalid causal context"))
	}
	if err := s.d.checkSize(len(value)); err != nil {
		return keyErr("document put", k, err)
	}
	err := s.d.do(ctx, func() error {
		mu := s.d.lockKey(tagDoc, k)
		mu.Lock()
		defer mu.Unlock()
		b := s.d.db.NewBatch()
		if len(causal) != 0 {
			seen := binary.BigEndian.Uint64(causal)
			var stale [][]byte
			err := s.d.scanSiblingKeys(k, func(key []byte, ver uint64) {
				if ver <= seen {
					stale = append(stale, key)
				}
			})
			if err != nil {
				b.Close()
				return err
			}
			for _, key := range stale {
				b.Delete(key, nil)
			}
		}
		ver, err := s.d.seq.alloc()
		if err != nil {
			b.Close()
			return err
		}
		b.Set(versionKey(entryPrefix(tagDoc, k), ver), value, nil)
		return commit(b)
	})
	if err != nil {
		return keyErr("document put", k, err)
	}
	return nil
}

func (s documents) Delete(ctx context.Context, k storage.Key) error {
	if err := k.Validate(); err != nil {
		return keyErr("document delete", k, err)
	}
	err := s.d.do(ctx, func() error {
		mu := s.d.lockKey(tagDoc, k)
		mu.Lock()
		defer mu.Unlock()
		b := s.d.db.NewBatch()
		err := s.d.scanSiblingKeys(k, func(key []byte, _ uint64) { b.Delete(key, nil) })
		if err != nil || b.Empty() {
			b.Close()
			return err
		}
		return commit(b)
	})
	if err != nil {
		return keyErr("document delete", k, err)
	}
	return nil
}

func (s documents) List(ctx context.Context, kind string) ([]string, error) {
	users, err := s.d.listUsers(ctx, tagDoc, kind, true)
	if err != nil {
		return nil, fmt.Errorf("pebble: document list %q: %w", kind, err)
	}
	return users, nil
}

// scanSiblings calls f for each sibling of k; v is valid only during f.
func (d *DB) scanSiblings(k storage.Key, f func(ver uint64, v []byte)) error {
	return d.scanVersions(k, func(it *pebble.Iterator, ver uint64) error {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		f(ver, v)
		return nil
	})
}

// scanSiblingKeys calls f with a copy of each sibling's engine key.
func (d *DB) scanSiblingKeys(k storage.Key, f func(key []byte, ver uint64)) error {
	return d.scanVersions(k, func(it *pebble.Iterator, ver uint64) error {
		f(append([]byte{}, it.Key()...), ver)
		return nil
	})
}

func (d *DB) scanVersions(k storage.Key, f func(it *pebble.Iterator, ver uint64) error) error {
	prefix := entryPrefix(tagDoc, k)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		suffix := it.Key()[len(prefix):]
		if len(suffix) != 8 {
			return fmt.Errorf("corrupt document key %q", it.Key())
		}
		if err := f(it, binary.BigEndian.Uint64(suffix)); err != nil {
			return err
		}
	}
	return it.Error()
}
