package auth

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/xmppd/xmppd/storage"
)

// memKV is an in-memory storage.KV for tests. Setting err makes every
// operation fail with it (a storage outage).
type memKV struct {
	mu  sync.Mutex
	m   map[storage.Key][]byte
	err error
}

var _ storage.KV = (*memKV)(nil)

func newMemKV() *memKV { return &memKV{m: make(map[storage.Key][]byte)} }

func (s *memKV) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *memKV) check(k storage.Key) error {
	if s.err != nil {
		return s.err
	}
	return k.Validate()
}

func (s *memKV) Get(_ context.Context, k storage.Key) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(k); err != nil {
		return nil, err
	}
	v, ok := s.m[k]
	if !ok {
		return nil, fmt.Errorf("memkv: get %s: %w", k, storage.ErrNotFound)
	}
	return slices.Clone(v), nil
}

func (s *memKV) Put(_ context.Context, k storage.Key, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(k); err != nil {
		return err
	}
	s.m[k] = slices.Clone(v)
	return nil
}

func (s *memKV) Create(_ context.Context, k storage.Key, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(k); err != nil {
		return err
	}
	if _, ok := s.m[k]; ok {
		return fmt.Errorf("memkv: create %s: %w", k, storage.ErrExists)
	}
	s.m[k] = slices.Clone(v)
	return nil
}

func (s *memKV) Delete(_ context.Context, k storage.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(k); err != nil {
		return err
	}
	if _, ok := s.m[k]; !ok {
		return fmt.Errorf("memkv: delete %s: %w", k, storage.ErrNotFound)
	}
	delete(s.m, k)
	return nil
}

func (s *memKV) List(_ context.Context, kind string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var users []string
	for k := range s.m {
		if k.Kind == kind {
			users = append(users, k.User)
		}
	}
	slices.Sort(users)
	return users, nil
}
