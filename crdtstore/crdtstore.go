// Package crdtstore keeps crdt documents in a storage.Documents backend:
// the read-merge-write cycle of DESIGN.md's storage model, written once for
// every feature that stores a CRDT (rosters, privacy lists).
//
// Read: fetch the siblings, decode each and merge them (crdt.Load). Write:
// apply the caller's operations to the merged document, compact it when its
// log has grown past the policy's bound, and put it back with the causal
// context of the read, so the backend collapses exactly the siblings that
// were merged. Concurrent writers — two resources of one user, or two
// nodes — produce siblings instead of losing updates; the next read merges
// them. No lock is taken anywhere.
package crdtstore

import (
	"context"
	"fmt"
	"time"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/storage"
)

// A Store reads and writes crdt documents of one kind ("roster",
// "privacy") for any user. It is safe for concurrent use.
type Store struct {
	docs   storage.Documents
	kind   string
	writer *crdt.Writer
	policy crdt.CompactPolicy
	now    func() time.Time
}

// New returns a Store for documents of kind, stamping operations with w.
// The zero CompactPolicy means crdt's defaults.
//
// policy.MinAge must stay well above the time one Update can take from
// stamping its operations to its Put returning (an hour by default):
// compaction is only safe for operations every concurrent writer with the
// same writer ID has already stored (see crdt's package doc). Two sessions
// of one user on one node do write concurrently under one writer ID, so a
// MinAge of milliseconds would lose updates; TestConcurrentWritersLoseNothing
// guards the default.
func New(docs storage.Documents, kind string, w *crdt.Writer, policy crdt.CompactPolicy) *Store {
	return &Store{docs: docs, kind: kind, writer: w, policy: policy, now: time.Now}
}

// Writer returns the writer operations are stamped with.
func (s *Store) Writer() *crdt.Writer { return s.writer }

func (s *Store) key(user string) storage.Key { return storage.Key{Kind: s.kind, User: user} }

// Load returns user's merged document (empty when none is stored).
func (s *Store) Load(ctx context.Context, user string) (*crdt.Doc, error) {
	doc, _, err := s.load(ctx, user)
	return doc, err
}

func (s *Store) load(ctx context.Context, user string) (*crdt.Doc, []byte, error) {
	stored, err := s.docs.Get(ctx, s.key(user))
	if err != nil {
		return nil, nil, fmt.Errorf("crdtstore: load %s/%s: %w", s.kind, user, err)
	}
	doc, err := crdt.Load(stored.Siblings)
	if err != nil {
		return nil, nil, fmt.Errorf("crdtstore: decode %s/%s: %w", s.kind, user, err)
	}
	if ts := doc.MaxTimestamp(); ts != 0 {
		// Never stamp below what the document has seen (clock skew
		// between nodes); an error means a timestamp from the far future,
		// which we still merge but do not follow.
		_ = s.writer.Clock().Observe(ts)
	}
	return doc, stored.Context, nil
}

// Update loads user's document, lets apply change it (with the store's
// writer), and writes it back with the read's causal context. If apply
// returns an error nothing is written and the error is returned as is.
// Update returns the document as written.
func (s *Store) Update(ctx context.Context, user string, apply func(doc *crdt.Doc, w *crdt.Writer) error) (*crdt.Doc, error) {
	doc, causal, err := s.load(ctx, user)
	if err != nil {
		return nil, err
	}
	if err := apply(doc, s.writer); err != nil {
		return nil, err
	}
	doc.Compact(s.policy, s.now())
	if err := s.docs.Put(ctx, s.key(user), causal, doc.Encode()); err != nil {
		return nil, fmt.Errorf("crdtstore: store %s/%s: %w", s.kind, user, err)
	}
	return doc, nil
}

// Delete removes user's document entirely (account deletion).
func (s *Store) Delete(ctx context.Context, user string) error {
	if err := s.docs.Delete(ctx, s.key(user)); err != nil {
		return fmt.Errorf("crdtstore: delete %s/%s: %w", s.kind, user, err)
	}
	return nil
}

// Users lists the users that have a document of this kind (admin tools).
func (s *Store) Users(ctx context.Context) ([]string, error) {
	return s.docs.List(ctx, s.kind)
}
