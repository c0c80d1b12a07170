package riak

import (
	"context"
	"fmt"

	riakc "github.com/basho/riak-go-client"

	"github.com/xmppd/xmppd/storage"
)

// Bucket names. Kinds cannot contain '/' (storage.Key.Validate), so
// "queue/…" and "archive/…" never collide with a kind's own bucket.
func (b *Backend) kindBucket(kind string) string { return b.cfg.BucketPrefix + kind }
func (b *Backend) queueIndexBucket(kind string) string {
	return b.cfg.BucketPrefix + "queue/" + kind
}
func (b *Backend) queueItemBucket(k storage.Key) string {
	return b.cfg.BucketPrefix + "queue/" + k.Kind + "/" + k.User
}
func (b *Backend) archiveBucket(k storage.Key) string {
	return b.cfg.BucketPrefix + "archive/" + k.Kind + "/" + k.User
}

// loc names one Riak object for the helpers below.
type loc struct{ typ, bucket, key string }

func (l loc) String() string { return l.typ + "/" + l.bucket + "/" + l.key }

// fetch reads an object; head skips the values.
func (b *Backend) fetch(ctx context.Context, op string, l loc, head bool) (*riakc.FetchValueResponse, error) {
	cmd, err := b.exec(ctx, op, l.bucket+"/"+l.key, func() (riakc.Command, error) {
		return riakc.NewFetchValueCommandBuilder().
			WithBucketType(l.typ).WithBucket(l.bucket).WithKey(l.key).
			WithHeadOnly(head).Build()
	})
	if err != nil {
		return nil, err
	}
	resp := cmd.(*riakc.FetchValueCommand).Response
	if resp == nil {
		return nil, fmt.Errorf("riak: %s %s: empty response", op, l)
	}
	return resp, nil
}

// liveValues returns the values of the siblings that are not tombstones.
func liveValues(resp *riakc.FetchValueResponse) [][]byte {
	if resp.IsNotFound {
		return nil
	}
	var out [][]byte
	for _, o := range resp.Values {
		if !o.IsTombstone {
			out = append(out, o.Value)
		}
	}
	return out
}

// storeOpts are the optional parts of a write.
type storeOpts struct {
	vclock      []byte
	ifNoneMatch bool
	indexes     map[string][]string
}

// store writes value to l.
func (b *Backend) store(ctx context.Context, op string, l loc, value []byte, o storeOpts) error {
	_, err := b.exec(ctx, op, l.bucket+"/"+l.key, func() (riakc.Command, error) {
		obj := &riakc.Object{
			ContentType: "application/octet-stream",
			Value:       value,
			VClock:      o.vclock,
		}
		for name, terms := range o.indexes {
			for _, t := range terms {
				obj.AddToIndex(name, t)
			}
		}
		return riakc.NewStoreValueCommandBuilder().
			WithBucketType(l.typ).WithBucket(l.bucket).WithKey(l.key).
			WithIfNoneMatch(o.ifNoneMatch).WithContent(obj).Build()
	})
	return err
}

// remove deletes l. Without a vclock Riak reads the object first and
// deletes what it saw.
func (b *Backend) remove(ctx context.Context, op string, l loc, vclock []byte) error {
	_, err := b.exec(ctx, op, l.bucket+"/"+l.key, func() (riakc.Command, error) {
		bld := riakc.NewDeleteValueCommandBuilder().WithBucketType(l.typ).WithBucket(l.bucket).WithKey(l.key)
		if vclock != nil {
			bld = bld.WithVClock(vclock)
		}
		return bld.Build()
	})
	return err
}

// listLive returns the keys of a bucket, sorted, leaving out tombstones
// that list-keys still reports until Riak reaps them.
func (b *Backend) listLive(ctx context.Context, op, typ, bucket string) ([]string, error) {
	cmd, err := b.exec(ctx, op, bucket, func() (riakc.Command, error) {
		return riakc.NewListKeysCommandBuilder().WithBucketType(typ).WithBucket(bucket).Build()
	})
	if err != nil {
		return nil, err
	}
	var keys []string
	if resp := cmd.(*riakc.ListKeysCommand).Response; resp != nil {
		keys = resp.Keys
	}
	live := make([]string, 0, len(keys))
	for _, k := range keys {
		resp, err := b.fetch(ctx, op, loc{typ, bucket, k}, true)
		if err != nil {
			return nil, err
		}
		if len(liveValues(resp)) > 0 {
			live = append(live, k)
		}
	}
	sortStrings(live)
	return live, nil
}

func (b *Backend) checkSize(op string, k storage.Key, v []byte) error {
	if len(v) > b.cfg.MaxValueBytes {
		return fmt.Errorf("riak: %s %s: %d bytes, limit %d (max_value_bytes): %w", op, k, len(v), b.cfg.MaxValueBytes, storage.ErrTooLarge)
	}
	return nil
}

func validKey(op string, k storage.Key) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("riak: %s %q: %w", op, k.String(), err)
	}
	return nil
}

func validKind(op, kind string) error {
	return validKey(op, storage.Key{Kind: kind, User: "-"})
}
