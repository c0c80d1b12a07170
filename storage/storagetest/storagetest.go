// Package storagetest is the conformance suite for storage backends: every
// implementation of storage.Backend (the embedded store, storage/riak) runs
// Run from its own tests, so that features can rely on the contracts written
// in package storage rather than on one backend's behaviour.
//
// The suite checks each method's documented contract (missing keys, Create
// on an existing key, sorted per-kind List, key validation, FIFO queues with
// limits, archive paging and Complete, document siblings and causal
// contexts), behaviour under concurrent use (no lost queue items, no lost
// document updates when writers merge siblings), durability across a reopen
// when the harness supports it, and ErrClosed after Close.
//
// Assumptions beyond storage.go, kept deliberately small:
//   - archive times round-trip at millisecond precision (the suite uses
//     whole-millisecond UTC times);
//   - List with an empty kind is an error, like any key with an empty kind;
//   - a backend copies the byte slices it is given and returns fresh ones.
package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
)

// Harness opens backends for the suite.
type Harness struct {
	// Open returns a fresh, empty backend. The suite closes it.
	Open func(t *testing.T) storage.Backend
	// Reopen closes b and opens the same data again (durability checks);
	// nil skips those checks.
	Reopen func(t *testing.T, b storage.Backend) storage.Backend
}

// Run runs the whole suite as subtests of t. It takes a few seconds on an
// embedded backend; the subtests run one after another.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("storagetest: Harness.Open is nil")
	}
	t.Run("Keys", func(t *testing.T) { testKeys(t, h) })
	t.Run("KV", func(t *testing.T) { testKV(t, h) })
	t.Run("Documents", func(t *testing.T) { testDocuments(t, h) })
	t.Run("Queues", func(t *testing.T) { testQueues(t, h) })
	t.Run("Archives", func(t *testing.T) { testArchives(t, h) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, h) })
	t.Run("Durability", func(t *testing.T) {
		if h.Reopen == nil {
			t.Skip("harness has no Reopen")
		}
		testDurability(t, h)
	})
	t.Run("Closed", func(t *testing.T) { testClosed(t, h) })
}

// An env is one backend under test, closed when the test ends unless the
// test closed it itself.
type env struct {
	t      *testing.T
	h      Harness
	b      storage.Backend
	closed bool
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	e := &env{t: t, h: h, b: h.Open(t)}
	t.Cleanup(func() {
		if !e.closed {
			if err := e.b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return e
}

// reopen replaces the backend with a reopened one over the same data.
func (e *env) reopen() {
	e.t.Helper()
	e.b = e.h.Reopen(e.t, e.b)
	if e.b == nil {
		e.t.Fatal("Reopen returned nil")
	}
}

// close closes the backend now.
func (e *env) close() {
	e.t.Helper()
	e.closed = true
	if err := e.b.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
}

// ctx returns a context that ends with the test or after a minute.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// invalidKeys violate storage.Key's rules.
var invalidKeys = []struct {
	name string
	key  storage.Key
}{
	{"empty kind", storage.Key{Kind: "", User: "juliet@example.com"}},
	{"empty user", storage.Key{Kind: "roster", User: ""}},
	{"both empty", storage.Key{}},
	{"slash in kind", storage.Key{Kind: "ros/ter", User: "juliet@example.com"}},
	{"NUL in kind", storage.Key{Kind: "ros\x00ter", User: "juliet@example.com"}},
	{"NUL in user", storage.Key{Kind: "roster", User: "juliet\x00@example.com"}},
}

// listUsers are stored under one kind to check List: they sort by bytes,
// share prefixes, and hold characters other than letters.
var listUsers = []string{
	"romeo@example.net",
	"juliet@example.com",
	"juliet@example.com.evil",
	"a",
	"room@conference.example.com/nick",
	"ünïcode@example.org",
	"juliet",
}
