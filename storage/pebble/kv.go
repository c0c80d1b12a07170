package pebble

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/xmppd/xmppd/storage"
)

// kv implements storage.KV: one engine key per storage key.
type kv struct{ d *DB }

func (s kv) Get(ctx context.Context, k storage.Key) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, keyErr("kv get", k, err)
	}
	var out []byte
	err := s.d.do(ctx, func() error {
		v, ok, err := s.d.get(userKey(tagKV, k))
		if err != nil {
			return err
		}
		if !ok {
			return storage.ErrNotFound
		}
		out = v
		return nil
	})
	if err != nil {
		return nil, keyErr("kv get", k, err)
	}
	return out, nil
}

func (s kv) Put(ctx context.Context, k storage.Key, v []byte) error {
	return s.write(ctx, "kv put", k, v, false)
}

func (s kv) Create(ctx context.Context, k storage.Key, v []byte) error {
	return s.write(ctx, "kv create", k, v, true)
}

func (s kv) write(ctx context.Context, op string, k storage.Key, v []byte, create bool) error {
	if err := k.Validate(); err != nil {
		return keyErr(op, k, err)
	}
	if err := s.d.checkSize(len(v)); err != nil {
		return keyErr(op, k, err)
	}
	err := s.d.do(ctx, func() error {
		key := userKey(tagKV, k)
		mu := s.d.lockKey(tagKV, k)
		mu.Lock()
		defer mu.Unlock()
		if create {
			if _, ok, err := s.d.get(key); err != nil {
				return err
			} else if ok {
				return storage.ErrExists
			}
		}
		return s.d.db.Set(key, v, pebble.Sync)
	})
	if err != nil {
		return keyErr(op, k, err)
	}
	return nil
}

func (s kv) Delete(ctx context.Context, k storage.Key) error {
	if err := k.Validate(); err != nil {
		return keyErr("kv delete", k, err)
	}
	err := s.d.do(ctx, func() error {
		key := userKey(tagKV, k)
		mu := s.d.lockKey(tagKV, k)
		mu.Lock()
		defer mu.Unlock()
		if _, ok, err := s.d.get(key); err != nil {
			return err
		} else if !ok {
			return storage.ErrNotFound
		}
		return s.d.db.Delete(key, pebble.Sync)
	})
	if err != nil {
		return keyErr("kv delete", k, err)
	}
	return nil
}

func (s kv) List(ctx context.Context, kind string) ([]string, error) {
	users, err := s.d.listUsers(ctx, tagKV, kind, false)
	if err != nil {
		return nil, fmt.Errorf("pebble: kv list %q: %w", kind, err)
	}
	return users, nil
}

// listUsers returns the users that have keys under tag and kind, in byte
// order. With entries set, keys are tag kind 0 user 0 suffix and each
// user's entries are skipped with one seek.
func (d *DB) listUsers(ctx context.Context, tag byte, kind string, entries bool) ([]string, error) {
	if err := validKind(kind); err != nil {
		return nil, err
	}
	var users []string
	err := d.do(ctx, func() error {
		prefix := kindPrefix(tag, kind)
		it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; {
			user := it.Key()[len(prefix):]
			if entries {
				end := len(user)
				for i, c := range user {
					if c == 0 {
						end = i
						break
					}
				}
				user = user[:end]
			}
			users = append(users, string(user))
			if !entries {
				ok = it.Next()
				continue
			}
			// Skip the rest of this user's entries: prefix user 1 sorts
			// after every prefix user 0 suffix.
			ok = it.SeekGE(append(withSuffix(prefix, string(user)), 1))
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return it.Error()
	})
	return users, err
}
