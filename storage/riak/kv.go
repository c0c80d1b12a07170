package riak

import (
	"context"
	"errors"
	"fmt"

	"github.com/xmppd/xmppd/storage"
)

// kvStore is storage.KV on the allow_mult = false bucket type: bucket
// "<prefix><kind>", key the user.
type kvStore struct{ b *Backend }

func (s kvStore) loc(k storage.Key) loc {
	return loc{s.b.cfg.KVBucketType, s.b.kindBucket(k.Kind), k.User}
}

// Get returns the value; with allow_mult = false there is one.
func (s kvStore) Get(ctx context.Context, k storage.Key) ([]byte, error) {
	if err := validKey("kv get", k); err != nil {
		return nil, err
	}
	resp, err := s.b.fetch(ctx, "kv_get", s.loc(k), false)
	if err != nil {
		return nil, err
	}
	vals := liveValues(resp)
	if len(vals) == 0 {
		return nil, fmt.Errorf("riak: kv get %s: %w", k, storage.ErrNotFound)
	}
	return vals[len(vals)-1], nil
}

// Put replaces the value, last write wins.
func (s kvStore) Put(ctx context.Context, k storage.Key, v []byte) error {
	if err := validKey("kv put", k); err != nil {
		return err
	}
	if err := s.b.checkSize("kv put", k, v); err != nil {
		return err
	}
	return s.b.store(ctx, "kv_put", s.loc(k), v, storeOpts{})
}

// Create writes with if_none_match: Riak refuses when the key holds a live
// value. If the first attempt was applied but its answer lost, the retry
// reports ErrExists for the caller's own write.
func (s kvStore) Create(ctx context.Context, k storage.Key, v []byte) error {
	if err := validKey("kv create", k); err != nil {
		return err
	}
	if err := s.b.checkSize("kv create", k, v); err != nil {
		return err
	}
	err := s.b.store(ctx, "kv_create", s.loc(k), v, storeOpts{ifNoneMatch: true})
	var re *Error
	if errors.As(err, &re) && re.Riak.Errmsg == "match_found" {
		return fmt.Errorf("riak: kv create %s: %w", k, storage.ErrExists)
	}
	return err
}

// Delete reads the key (for ErrNotFound and its vclock) and deletes it.
func (s kvStore) Delete(ctx context.Context, k storage.Key) error {
	if err := validKey("kv delete", k); err != nil {
		return err
	}
	resp, err := s.b.fetch(ctx, "kv_delete", s.loc(k), true)
	if err != nil {
		return err
	}
	if len(liveValues(resp)) == 0 {
		return fmt.Errorf("riak: kv delete %s: %w", k, storage.ErrNotFound)
	}
	return s.b.remove(ctx, "kv_delete", s.loc(k), resp.VClock)
}

// List lists the keys of the kind's bucket.
func (s kvStore) List(ctx context.Context, kind string) ([]string, error) {
	if err := validKind("kv list", kind); err != nil {
		return nil, err
	}
	return s.b.listLive(ctx, "kv_list", s.b.cfg.KVBucketType, s.b.kindBucket(kind))
}
