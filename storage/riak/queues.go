package riak

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// ackedTTL is how long an acknowledged ID stays in a queue index. It only
// has to outlive any write that read the index before the ack and is still
// in flight: such a write makes a sibling that still lists the ID.
const ackedTTL = time.Hour

// queues is storage.Queues: an index document per queue in the documents
// bucket type, merged from siblings as sets, and one object per item in the
// KV bucket type (see the package doc).
type queues struct {
	b     *Backend
	locks *keyLocks
}

// keyLocks serialise this process's read-modify-write cycles on one queue
// index, so that its limit holds exactly against racers in the process
// and its writes do not make siblings of each other. Keys share one of a
// fixed set of mutexes by hash.
type keyLocks [64]sync.Mutex

func (l *keyLocks) lock(k storage.Key) func() {
	h := fnv.New32a()
	h.Write([]byte(k.Kind))
	h.Write([]byte{0})
	h.Write([]byte(k.User))
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

// queueIndex is the stored index of one queue.
type queueIndex struct {
	// Items are the IDs of the queued items, ascending.
	Items []string `json:"items"`
	// Acked maps acknowledged IDs to when (Unix seconds), so that a
	// sibling written before the ack cannot bring them back.
	Acked map[string]int64 `json:"acked,omitempty"`
}

func (q queues) indexLoc(k storage.Key) loc {
	return loc{q.b.cfg.DocumentsBucketType, q.b.queueIndexBucket(k.Kind), k.User}
}

func (q queues) itemLoc(k storage.Key, id string) loc {
	return loc{q.b.cfg.KVBucketType, q.b.queueItemBucket(k), id}
}

// mergeIndexes merges sibling indexes: the union of items less the union
// of acknowledged IDs. Acknowledgements older than ackedTTL are dropped.
func mergeIndexes(sibs []queueIndex, now time.Time) queueIndex {
	out := queueIndex{Acked: map[string]int64{}}
	items := map[string]bool{}
	for _, s := range sibs {
		for _, id := range s.Items {
			items[id] = true
		}
		for id, at := range s.Acked {
			out.Acked[id] = max(out.Acked[id], at)
		}
	}
	for id := range out.Acked {
		delete(items, id)
	}
	out.Items = slices.Sorted(maps.Keys(items))
	cutoff := now.Add(-ackedTTL).Unix()
	for id, at := range out.Acked {
		if at < cutoff {
			delete(out.Acked, id)
		}
	}
	return out
}

// readIndex returns the merged index and the vclock to write it back with.
func (q queues) readIndex(ctx context.Context, op string, k storage.Key) (queueIndex, []byte, error) {
	resp, err := q.b.fetch(ctx, op, q.indexLoc(k), false)
	if err != nil {
		return queueIndex{}, nil, err
	}
	vals := liveValues(resp)
	sibs := make([]queueIndex, 0, len(vals))
	for _, v := range vals {
		var s queueIndex
		if err := json.Unmarshal(v, &s); err != nil {
			return queueIndex{}, nil, fmt.Errorf("riak: %s %s: corrupt queue index: %w", op, k, err)
		}
		sibs = append(sibs, s)
	}
	return mergeIndexes(sibs, time.Now()), resp.VClock, nil
}

func (q queues) writeIndex(ctx context.Context, op string, k storage.Key, idx queueIndex, vclock []byte) error {
	v, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("riak: %s %s: encode queue index: %w", op, k, err)
	}
	return q.b.store(ctx, op, q.indexLoc(k), v, storeOpts{vclock: vclock})
}

// Push stores the item, then adds its ID to the index. The limit is checked
// against the index read first: exact within this process, which
// serialises pushes to one queue, but writers on other nodes racing with
// it may exceed it by the number of racers.
func (q queues) Push(ctx context.Context, k storage.Key, data []byte, limit int) (string, error) {
	const op = "queue_push"
	if err := validKey("queue push", k); err != nil {
		return "", err
	}
	if err := q.b.checkSize("queue push", k, data); err != nil {
		return "", err
	}
	defer q.locks.lock(k)()
	idx, vclock, err := q.readIndex(ctx, op, k)
	if err != nil {
		return "", err
	}
	if limit > 0 && len(idx.Items) >= limit {
		return "", fmt.Errorf("riak: queue push %s: %d items, limit %d: %w", k, len(idx.Items), limit, storage.ErrQueueFull)
	}
	ns := time.Now().UnixNano()
	for _, id := range slices.Concat(idx.Items, slices.Collect(maps.Keys(idx.Acked))) {
		if t, ok := idNanos(id); ok && t >= ns {
			ns = t + 1
		}
	}
	id := newID(ns)
	if err := q.b.store(ctx, op, q.itemLoc(k, id), data, storeOpts{}); err != nil {
		return "", err
	}
	idx.Items = append(idx.Items, id)
	if err := q.writeIndex(ctx, op, k, idx, vclock); err != nil {
		return "", err
	}
	return id, nil
}

// Peek reads the index, then the items in order. An ID whose item is gone
// (acknowledged by a writer whose index update is not merged yet) is
// skipped.
func (q queues) Peek(ctx context.Context, k storage.Key, maxItems int) ([]storage.QueueItem, error) {
	const op = "queue_peek"
	if err := validKey("queue peek", k); err != nil {
		return nil, err
	}
	idx, _, err := q.readIndex(ctx, op, k)
	if err != nil {
		return nil, err
	}
	var out []storage.QueueItem
	for _, id := range idx.Items {
		if maxItems > 0 && len(out) >= maxItems {
			break
		}
		resp, err := q.b.fetch(ctx, op, q.itemLoc(k, id), false)
		if err != nil {
			return nil, err
		}
		vals := liveValues(resp)
		if len(vals) == 0 {
			continue
		}
		out = append(out, storage.QueueItem{ID: id, Data: vals[len(vals)-1]})
	}
	return out, nil
}

// Ack deletes the items, then records the IDs as acknowledged in the index.
func (q queues) Ack(ctx context.Context, k storage.Key, ids ...string) error {
	const op = "queue_ack"
	if err := validKey("queue ack", k); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	defer q.locks.lock(k)()
	idx, vclock, err := q.readIndex(ctx, op, k)
	if err != nil {
		return err
	}
	return q.drop(ctx, op, k, idx, vclock, ids)
}

// drop deletes the listed items that the index holds and writes the index
// back without them.
func (q queues) drop(ctx context.Context, op string, k storage.Key, idx queueIndex, vclock []byte, ids []string) error {
	present := map[string]bool{}
	for _, id := range idx.Items {
		present[id] = true
	}
	now := time.Now().Unix()
	changed := false
	for _, id := range ids {
		if !present[id] {
			continue
		}
		if err := q.b.remove(ctx, op, q.itemLoc(k, id), nil); err != nil {
			return err
		}
		delete(present, id)
		idx.Acked[id] = now
		changed = true
	}
	if !changed {
		return nil
	}
	idx.Items = slices.DeleteFunc(idx.Items, func(id string) bool { return !present[id] })
	return q.writeIndex(ctx, op, k, idx, vclock)
}

// Len counts the IDs in the index.
func (q queues) Len(ctx context.Context, k storage.Key) (int, error) {
	if err := validKey("queue len", k); err != nil {
		return 0, err
	}
	idx, _, err := q.readIndex(ctx, "queue_len", k)
	if err != nil {
		return 0, err
	}
	return len(idx.Items), nil
}

// Clear acknowledges every item in the index.
func (q queues) Clear(ctx context.Context, k storage.Key) error {
	const op = "queue_clear"
	if err := validKey("queue clear", k); err != nil {
		return err
	}
	defer q.locks.lock(k)()
	idx, vclock, err := q.readIndex(ctx, op, k)
	if err != nil {
		return err
	}
	return q.drop(ctx, op, k, idx, vclock, slices.Clone(idx.Items))
}
