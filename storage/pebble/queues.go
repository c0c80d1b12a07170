package pebble

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/xmppd/xmppd/storage"
)

// queues implements storage.Queues. Items are keyed by a fixed-width ID from
// the store's sequence, so a prefix scan returns them in push order; a meta
// key holds the item count for Len and the limit check. Push, Ack and Clear
// on one queue are serialised; pushes to different queues commit in
// parallel and share fsyncs.
type queues struct{ d *DB }

func (s queues) Push(ctx context.Context, k storage.Key, data []byte, limit int) (string, error) {
	if err := k.Validate(); err != nil {
		return "", keyErr("queue push", k, err)
	}
	if err := s.d.checkSize(len(data)); err != nil {
		return "", keyErr("queue push", k, err)
	}
	var id string
	err := s.d.do(ctx, func() error {
		mu := s.d.lockKey(tagQueue, k)
		mu.Lock()
		defer mu.Unlock()
		n, err := s.d.queueLen(k)
		if err != nil {
			return err
		}
		if limit > 0 && n >= uint64(limit) {
			return fmt.Errorf("%w: %d items, limit %d", storage.ErrQueueFull, n, limit)
		}
		seq, err := s.d.seq.alloc()
		if err != nil {
			return err
		}
		id = formatID(seq)
		b := s.d.db.NewBatch()
		b.Set(withSuffix(entryPrefix(tagQueue, k), id), data, nil)
		b.Set(userKey(tagQueueMeta, k), binary.AppendUvarint(nil, n+1), nil)
		return commit(b)
	})
	if err != nil {
		return "", keyErr("queue push", k, err)
	}
	return id, nil
}

func (s queues) Peek(ctx context.Context, k storage.Key, max int) ([]storage.QueueItem, error) {
	if err := k.Validate(); err != nil {
		return nil, keyErr("queue peek", k, err)
	}
	var items []storage.QueueItem
	err := s.d.do(ctx, func() error {
		prefix := entryPrefix(tagQueue, k)
		it, err := s.d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok && (max <= 0 || len(items) < max); ok = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			items = append(items, storage.QueueItem{
				ID:   string(it.Key()[len(prefix):]),
				Data: append([]byte{}, v...),
			})
		}
		return it.Error()
	})
	if err != nil {
		return nil, keyErr("queue peek", k, err)
	}
	return items, nil
}

func (s queues) Ack(ctx context.Context, k storage.Key, ids ...string) error {
	if err := k.Validate(); err != nil {
		return keyErr("queue ack", k, err)
	}
	err := s.d.do(ctx, func() error {
		mu := s.d.lockKey(tagQueue, k)
		mu.Lock()
		defer mu.Unlock()
		prefix := entryPrefix(tagQueue, k)
		b := s.d.db.NewBatch()
		defer b.Close()
		removed := make(map[string]bool, len(ids))
		for _, id := range ids {
			if _, ok := parseID(id); !ok || removed[id] {
				continue // not an ID this store hands out, or a duplicate
			}
			key := withSuffix(prefix, id)
			if _, ok, err := s.d.get(key); err != nil {
				return err
			} else if ok {
				b.Delete(key, nil)
				removed[id] = true
			}
		}
		if len(removed) == 0 {
			return nil
		}
		n, err := s.d.queueLen(k)
		if err != nil {
			return err
		}
		meta := userKey(tagQueueMeta, k)
		if left := n - min(n, uint64(len(removed))); left > 0 {
			b.Set(meta, binary.AppendUvarint(nil, left), nil)
		} else {
			b.Delete(meta, nil)
		}
		return b.Commit(pebble.Sync)
	})
	if err != nil {
		return keyErr("queue ack", k, err)
	}
	return nil
}

func (s queues) Len(ctx context.Context, k storage.Key) (int, error) {
	if err := k.Validate(); err != nil {
		return 0, keyErr("queue len", k, err)
	}
	var n uint64
	err := s.d.do(ctx, func() error {
		var err error
		n, err = s.d.queueLen(k)
		return err
	})
	if err != nil {
		return 0, keyErr("queue len", k, err)
	}
	return int(n), nil
}

func (s queues) Clear(ctx context.Context, k storage.Key) error {
	if err := k.Validate(); err != nil {
		return keyErr("queue clear", k, err)
	}
	err := s.d.do(ctx, func() error {
		mu := s.d.lockKey(tagQueue, k)
		mu.Lock()
		defer mu.Unlock()
		n, err := s.d.queueLen(k)
		if err != nil || n == 0 {
			return err
		}
		prefix := entryPrefix(tagQueue, k)
		b := s.d.db.NewBatch()
		b.DeleteRange(prefix, prefixEnd(prefix), nil)
		b.Delete(userKey(tagQueueMeta, k), nil)
		return commit(b)
	})
	if err != nil {
		return keyErr("queue clear", k, err)
	}
	return nil
}

// queueLen reads k's item count.
func (d *DB) queueLen(k storage.Key) (uint64, error) {
	v, ok, err := d.get(userKey(tagQueueMeta, k))
	if err != nil || !ok {
		return 0, err
	}
	n, size := binary.Uvarint(v)
	if size <= 0 {
		return 0, fmt.Errorf("corrupt queue meta %x", v)
	}
	return n, nil
}
