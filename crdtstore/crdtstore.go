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
//
// Append is the cheap path for small changes to large documents (a
// 10,000-entry ignore list): it makes the operations on a cached merged
// copy of the document and writes only them, as a delta (crdt.Doc.Delta),
// in a sibling of their own — a Put without causal context, which the
// backend keeps beside the others. Readers merge every sibling anyway, so
// nothing else changes for them; once a document has gathered
// DefaultFoldSiblings siblings, the next Append folds them into one by a
// read-merge-write. An Append thus costs the size of its change, and every
// DefaultFoldSiblings-th one the size of the document.
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

	cache  *docCache // merged documents of the users Append served
	foldAt int       // sibling count past which Append folds
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
	return &Store{
		docs: docs, kind: kind, writer: w, policy: policy, now: time.Now,
		cache:  newDocCache(DefaultCacheUsers, DefaultCacheBytes),
		foldAt: DefaultFoldSiblings,
	}
}

// Writer returns the writer operations are stamped with.
func (s *Store) Writer() *crdt.Writer { return s.writer }

func (s *Store) key(user string) storage.Key { return storage.Key{Kind: s.kind, User: user} }

// Load returns user's merged document (empty when none is stored). When
// Append has the user's document cached, the cache learns what Load read.
func (s *Store) Load(ctx context.Context, user string) (*crdt.Doc, error) {
	r, err := s.load(ctx, user)
	if err != nil {
		return nil, err
	}
	s.refresh(user, r.doc, len(r.siblings), r.size)
	return r.doc, nil
}

// A read is one full read of a document: its stored siblings merged.
type read struct {
	doc      *crdt.Doc
	causal   []byte
	siblings [][]byte
	size     int // bytes of all siblings
}

func (s *Store) load(ctx context.Context, user string) (read, error) {
	stored, err := s.docs.Get(ctx, s.key(user))
	if err != nil {
		return read{}, fmt.Errorf("crdtstore: load %s/%s: %w", s.kind, user, err)
	}
	doc, err := crdt.Load(stored.Siblings)
	if err != nil {
		return read{}, fmt.Errorf("crdtstore: decode %s/%s: %w", s.kind, user, err)
	}
	if ts := doc.MaxTimestamp(); ts != 0 {
		// Never stamp below what the document has seen (clock skew
		// between nodes); an error means a timestamp from the far future,
		// which we still merge but do not follow.
		_ = s.writer.Clock().Observe(ts)
	}
	r := read{doc: doc, causal: stored.Context, siblings: stored.Siblings}
	for _, b := range stored.Siblings {
		r.size += len(b)
	}
	return r, nil
}

// refresh merges a document just read or written in full into user's
// cached copy, if there is one: the cache never loses what it held, and
// gains what other writers stored.
func (s *Store) refresh(user string, doc *crdt.Doc, siblings, size int) {
	e := s.cache.peek(user)
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.doc == nil {
		return // the next Append loads it
	}
	e.doc.Merge(doc)
	e.siblings, e.size = siblings, size
	s.cache.resize(e, size)
}

// Update loads user's document, lets apply change it (with the store's
// writer), and writes it back with the read's causal context. If apply
// returns an error nothing is written and the error is returned as is.
// Update returns the document as written.
func (s *Store) Update(ctx context.Context, user string, apply func(doc *crdt.Doc, w *crdt.Writer) error) (*crdt.Doc, error) {
	r, err := s.load(ctx, user)
	if err != nil {
		return nil, err
	}
	doc := r.doc
	if err := apply(doc, s.writer); err != nil {
		return nil, err
	}
	doc.Compact(s.policy, s.now())
	enc := doc.Encode()
	if err := s.docs.Put(ctx, s.key(user), r.causal, enc); err != nil {
		s.cache.drop(user) // the write may or may not have happened
		return nil, fmt.Errorf("crdtstore: store %s/%s: %w", s.kind, user, err)
	}
	s.refresh(user, doc, 1, len(enc))
	return doc, nil
}

// Append makes the operations apply makes (with the store's writer) on a
// cached merged copy of user's document and stores only them, as a delta
// in a sibling of its own; see the package comment. The cache is bounded
// (DefaultCacheUsers, DefaultCacheBytes, least recently used out); a user
// it does not hold is loaded in full first. When the document has
// DefaultFoldSiblings siblings already, as far as this node knows, the
// delta is instead merged into a full read of the document and written
// back in its place with the read's causal context (Update's cycle), which
// also refreshes the cache. Appends of one user on this node are
// serialised; apply must not keep doc.
//
// The cache may be stale: writes another node (or another Store) made
// since this node's last full read of the user — Load, Update, a fold, a
// miss — are not in it. That is safe for the CRDT, because every
// operation only supersedes the entries it observed: on a stale copy a
// Remove removes fewer entries (the other node's concurrent adds survive
// it, add-wins) and a Set supersedes fewer writes (the newest still wins),
// and the delta stored carries exactly those effects, so no stored
// operation is lost and every reader merging the siblings converges. What
// staleness costs is that apply reads an older state and that a removal
// cannot reach an element this node has not seen yet — as if the two
// writes had been concurrent. Every full read refreshes the cache.
//
// If apply returns an error, nothing is written, the error is returned as
// is, and the cached copy (which may hold part of the change) is dropped,
// to be read again by the next Append. A failed write drops it too.
//
// Append returns the delta it stored: the new operations only, a
// document the caller owns.
func (s *Store) Append(ctx context.Context, user string, apply func(doc *crdt.Doc, w *crdt.Writer) error) (*crdt.Doc, error) {
	e := s.cache.entry(user)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.doc == nil {
		r, err := s.load(ctx, user)
		if err != nil {
			return nil, err
		}
		e.doc, e.siblings, e.size = r.doc, len(r.siblings), r.size
		s.cache.resize(e, e.size)
	}
	w := s.writer.Recording()
	if err := apply(e.doc, w); err != nil {
		e.doc = nil
		return nil, err
	}
	ids := w.Stamped()
	if len(ids) == 0 {
		return crdt.New(), nil
	}
	delta, err := e.doc.Delta(ids...)
	if err != nil {
		e.doc = nil
		return nil, fmt.Errorf("crdtstore: append %s/%s: %w", s.kind, user, err)
	}
	if e.siblings >= s.foldAt {
		if err := s.fold(ctx, user, e, delta); err != nil {
			e.doc = nil
			return nil, err
		}
		return delta, nil
	}
	enc := delta.Encode()
	if err := s.docs.Put(ctx, s.key(user), nil, enc); err != nil {
		e.doc = nil
		return nil, fmt.Errorf("crdtstore: store %s/%s: %w", s.kind, user, err)
	}
	e.siblings++
	e.size += len(enc)
	s.cache.resize(e, e.size)
	return delta, nil
}

// fold writes delta merged into a full read of user's document in place
// of the siblings read, and merges the result into the cache. e.mu is
// held.
func (s *Store) fold(ctx context.Context, user string, e *cached, delta *crdt.Doc) error {
	r, err := s.load(ctx, user)
	if err != nil {
		return err
	}
	r.doc.Merge(delta)
	r.doc.Compact(s.policy, s.now())
	enc := r.doc.Encode()
	if err := s.docs.Put(ctx, s.key(user), r.causal, enc); err != nil {
		return fmt.Errorf("crdtstore: store %s/%s: %w", s.kind, user, err)
	}
	e.doc.Merge(r.doc)
	e.siblings, e.size = 1, len(enc)
	s.cache.resize(e, e.size)
	return nil
}

// Delete removes user's document entirely (account deletion).
func (s *Store) Delete(ctx context.Context, user string) error {
	if e := s.cache.peek(user); e != nil {
		// An Append waiting for the entry must not write on the deleted
		// document's copy: it finds none and reads again.
		e.mu.Lock()
		defer e.mu.Unlock()
		e.doc = nil
	}
	s.cache.drop(user)
	if err := s.docs.Delete(ctx, s.key(user)); err != nil {
		return fmt.Errorf("crdtstore: delete %s/%s: %w", s.kind, user, err)
	}
	return nil
}

// Users lists the users that have a document of this kind (admin tools).
func (s *Store) Users(ctx context.Context) ([]string, error) {
	return s.docs.List(ctx, s.kind)
}
