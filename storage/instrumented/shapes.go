package instrumented

import (
	"context"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// Each method times the wrapped call, records its outcome and traces it
// for a debugged session (see op.done).

type documents struct {
	inner               storage.Documents
	get, put, del, list *op
}

func (d documents) Get(ctx context.Context, k storage.Key) (storage.Document, error) {
	start := time.Now()
	v, err := d.inner.Get(ctx, k)
	d.get.done(ctx, k, start, err)
	return v, err
}

func (d documents) Put(ctx context.Context, k storage.Key, causal, value []byte) error {
	start := time.Now()
	err := d.inner.Put(ctx, k, causal, value)
	d.put.done(ctx, k, start, err)
	return err
}

func (d documents) Delete(ctx context.Context, k storage.Key) error {
	start := time.Now()
	err := d.inner.Delete(ctx, k)
	d.del.done(ctx, k, start, err)
	return err
}

func (d documents) List(ctx context.Context, kind string) ([]string, error) {
	start := time.Now()
	v, err := d.inner.List(ctx, kind)
	d.list.done(ctx, storage.Key{Kind: kind}, start, err)
	return v, err
}

type kv struct {
	inner                       storage.KV
	get, put, create, del, list *op
}

func (s kv) Get(ctx context.Context, k storage.Key) ([]byte, error) {
	start := time.Now()
	v, err := s.inner.Get(ctx, k)
	s.get.done(ctx, k, start, err)
	return v, err
}

func (s kv) Put(ctx context.Context, k storage.Key, v []byte) error {
	start := time.Now()
	err := s.inner.Put(ctx, k, v)
	s.put.done(ctx, k, start, err)
	return err
}

func (s kv) Create(ctx context.Context, k storage.Key, v []byte) error {
	start := time.Now()
	err := s.inner.Create(ctx, k, v)
	s.create.done(ctx, k, start, err)
	return err
}

func (s kv) Delete(ctx context.Context, k storage.Key) error {
	start := time.Now()
	err := s.inner.Delete(ctx, k)
	s.del.done(ctx, k, start, err)
	return err
}

func (s kv) List(ctx context.Context, kind string) ([]string, error) {
	start := time.Now()
	v, err := s.inner.List(ctx, kind)
	s.list.done(ctx, storage.Key{Kind: kind}, start, err)
	return v, err
}

type queues struct {
	inner                       storage.Queues
	push, peek, ack, len, clear *op
}

func (q queues) Push(ctx context.Context, k storage.Key, data []byte, limit int) (string, error) {
	start := time.Now()
	id, err := q.inner.Push(ctx, k, data, limit)
	q.push.done(ctx, k, start, err)
	return id, err
}

func (q queues) Peek(ctx context.Context, k storage.Key, max int) ([]storage.QueueItem, error) {
	start := time.Now()
	v, err := q.inner.Peek(ctx, k, max)
	q.peek.done(ctx, k, start, err)
	return v, err
}

func (q queues) Ack(ctx context.Context, k storage.Key, ids ...string) error {
	start := time.Now()
	err := q.inner.Ack(ctx, k, ids...)
	q.ack.done(ctx, k, start, err)
	return err
}

func (q queues) Len(ctx context.Context, k storage.Key) (int, error) {
	start := time.Now()
	n, err := q.inner.Len(ctx, k)
	q.len.done(ctx, k, start, err)
	return n, err
}

func (q queues) Clear(ctx context.Context, k storage.Key) error {
	start := time.Now()
	err := q.inner.Clear(ctx, k)
	q.clear.done(ctx, k, start, err)
	return err
}

type archives struct {
	inner                                   storage.Archives
	append, query, get, deleteBefore, clear *op
}

func (a archives) Append(ctx context.Context, k storage.Key, e storage.ArchiveEntry) (string, error) {
	start := time.Now()
	id, err := a.inner.Append(ctx, k, e)
	a.append.done(ctx, k, start, err)
	return id, err
}

func (a archives) Query(ctx context.Context, k storage.Key, q storage.ArchiveQuery) (storage.ArchiveResult, error) {
	start := time.Now()
	r, err := a.inner.Query(ctx, k, q)
	a.query.done(ctx, k, start, err)
	return r, err
}

func (a archives) Get(ctx context.Context, k storage.Key, id string) (storage.ArchiveEntry, error) {
	start := time.Now()
	e, err := a.inner.Get(ctx, k, id)
	a.get.done(ctx, k, start, err)
	return e, err
}

func (a archives) DeleteBefore(ctx context.Context, k storage.Key, t time.Time) error {
	start := time.Now()
	err := a.inner.DeleteBefore(ctx, k, t)
	a.deleteBefore.done(ctx, k, start, err)
	return err
}

func (a archives) Clear(ctx context.Context, k storage.Key) error {
	start := time.Now()
	err := a.inner.Clear(ctx, k)
	a.clear.done(ctx, k, start, err)
	return err
}
