// Package storage defines the data shapes that xmppd keeps, as small
// interfaces that every backend implements, and the sentinel errors they
// return. Features depend on these interfaces, never on a backend.
//
// Four shapes cover everything the server stores:
//
//   - Documents: CRDT documents (rosters, privacy lists) read with a causal
//     context and written back with it. Concurrent writes that did not see
//     each other are kept as siblings, never dropped; the reader merges them
//     (package crdt) and a write whose context covers them collapses them.
//     This is Riak's model (allow_mult, dvv_enabled); the embedded backend
//     models it on one node so that both go through the same code path.
//   - KV: opaque values by key (accounts, settings, room configuration).
//   - Queues: a per-user FIFO with a length limit (offline messages).
//     Items are removed only when acknowledged, so a crash between delivery
//     and acknowledgement redelivers rather than loses.
//   - Archives: an append-only, time-ordered log per owner with range
//     queries (message archive, MUC history).
//
// Backends live beside this package (storage/bolt or storage/pebble, the
// embedded default, and storage/riak). Every one passes the conformance
// suite in storage/storagetest.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them with context; callers test with
// errors.Is.
var (
	// ErrNotFound: the key, queue item or archive entry does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrExists: KV.Create found the key already present.
	ErrExists = errors.New("storage: already exists")
	// ErrQueueFull: Queues.Push would exceed the queue's limit.
	ErrQueueFull = errors.New("storage: queue full")
	// ErrUnavailable: the backend cannot be reached (node down, timeout).
	// The operation may or may not have been applied.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrClosed: the backend has been closed.
	ErrClosed = errors.New("storage: closed")
	// ErrTooLarge: a value exceeds the backend's size limit.
	ErrTooLarge = errors.New("storage: value too large")
)

// A Key names one document, value, queue or archive: Kind says what it holds
// ("roster", "privacy", "account", "offline", "mam", …) and User whose it is,
// normally a normalised bare JID (or a room JID). Kind and User must not be
// empty and must not contain a NUL byte.
type Key struct {
	Kind string
	User string
}

// String returns "kind/user", the form used in logs and Riak keys.
func (k Key) String() string { return k.Kind + "/" + k.User }

// Validate reports whether k is usable as a key.
func (k Key) Validate() error {
	if k.Kind == "" || k.User == "" {
		return errors.New("storage: empty key kind or user")
	}
	for i := 0; i < len(k.Kind); i++ {
		if k.Kind[i] == 0 || k.Kind[i] == '/' {
			return errors.New("storage: invalid character in key kind")
		}
	}
	for i := 0; i < len(k.User); i++ {
		if k.User[i] == 0 {
			return errors.New("storage: NUL in key user")
		}
	}
	return nil
}

// A Document is what Documents.Get returns: the sibling values currently
// stored under a key and the causal context that saw all of them.
type Document struct {
	// Siblings holds one value normally, several after concurrent writes
	// that did not see each other, none when the key does not exist.
	// The order carries no meaning.
	Siblings [][]byte
	// Context is opaque (a Riak vector clock, or the embedded backend's
	// version). Pass it unchanged to Put; nil for a key never read.
	Context []byte
}

// Documents stores CRDT documents with siblings and causal contexts.
//
// Put replaces exactly the siblings that the context covers (those returned
// by the Get that produced it) with value; siblings written by others since
// that Get stay beside it. A Put with a nil context adds a sibling unless the
// key is absent. So a read-merge-write loop never loses a concurrent update.
type Documents interface {
	// Get returns the current siblings; a missing key is not an error but a
	// Document with no siblings and a nil Context.
	Get(ctx context.Context, k Key) (Document, error)
	// Put writes value with the causal context of a previous Get.
	Put(ctx context.Context, k Key, causal []byte, value []byte) error
	// Delete removes the key and all its siblings. Deleting a missing key is
	// not an error.
	Delete(ctx context.Context, k Key) error
	// List returns the users that have a document of this kind, sorted.
	// It may be slow on large stores (admin tools only: rekey, export).
	List(ctx context.Context, kind string) ([]string, error)
}

// KV stores opaque values by key, last writer wins.
type KV interface {
	// Get returns ErrNotFound for a missing key.
	Get(ctx context.Context, k Key) ([]byte, error)
	// Put creates or replaces the value.
	Put(ctx context.Context, k Key, v []byte) error
	// Create stores v only if k is absent; ErrExists otherwise.
	Create(ctx context.Context, k Key, v []byte) error
	// Delete removes the key; ErrNotFound when it was absent.
	Delete(ctx context.Context, k Key) error
	// List returns the users that have a value of this kind, sorted.
	List(ctx context.Context, kind string) ([]string, error)
}

// A QueueItem is one entry of a queue. ID is assigned by the backend and
// orders items: later pushes have greater IDs (compare as strings).
type QueueItem struct {
	ID   string
	Data []byte
}

// Queues stores per-key FIFO queues.
type Queues interface {
	// Push appends data. If limit > 0 and the queue already holds limit
	// items, nothing is stored and ErrQueueFull is returned. Push returns
	// only once the item is durable.
	Push(ctx context.Context, k Key, data []byte, limit int) (id string, err error)
	// Peek returns up to max items (all when max <= 0) in FIFO order
	// without removing them.
	Peek(ctx context.Context, k Key, max int) ([]QueueItem, error)
	// Ack removes the items with the given IDs; unknown IDs are ignored.
	Ack(ctx context.Context, k Key, ids ...string) error
	// Len returns the number of items.
	Len(ctx context.Context, k Key) (int, error)
	// Clear removes every item.
	Clear(ctx context.Context, k Key) error
}

// An ArchiveEntry is one archived item.
type ArchiveEntry struct {
	// ID is assigned by Append: unique within the archive and ordered like
	// Time (compare as strings). It is usable as a XEP-0359 stanza id.
	ID string
	// Time is when the entry was archived (UTC, set by the caller; Append
	// keeps IDs ordered even if Time goes backwards).
	Time time.Time
	// With is a filter key, normally the bare JID of the other party.
	With string
	// Data is the archived payload.
	Data []byte
}

// An ArchiveQuery selects entries. The zero value selects everything.
type ArchiveQuery struct {
	Start, End time.Time // inclusive bounds on Time; zero means open
	With       string    // only entries whose With equals this; "" means any
	AfterID    string    // only entries with ID > AfterID
	BeforeID   string    // only entries with ID < BeforeID
	Max        int       // at most this many; <= 0 means no limit
	// Last selects the last Max matching entries instead of the first
	// (XEP-0059 paging backwards). Entries are returned oldest first either way.
	Last bool
}

// An ArchiveResult is a page of entries, oldest first.
type ArchiveResult struct {
	Entries []ArchiveEntry
	// Complete is true when no further matching entry exists beyond this
	// page in the direction of the query (after the last entry, or before
	// the first one when Last is set).
	Complete bool
}

// Archives stores per-key append-only archives.
type Archives interface {
	// Append stores e (its ID is ignored) and returns the assigned ID. The
	// entry is visible to queries once Append returns; a backend may defer
	// making it survive a crash for a bounded, configured window (the
	// embedded store does, see storage/pebble's archiveSyncer), since an
	// archive holds history of messages already delivered, not undelivered
	// ones.
	Append(ctx context.Context, k Key, e ArchiveEntry) (id string, err error)
	// Query returns the matching entries.
	Query(ctx context.Context, k Key, q ArchiveQuery) (ArchiveResult, error)
	// Get returns one entry by ID; ErrNotFound when absent.
	Get(ctx context.Context, k Key, id string) (ArchiveEntry, error)
	// DeleteBefore removes entries with Time before t (retention).
	DeleteBefore(ctx context.Context, k Key, t time.Time) error
	// Clear removes the whole archive.
	Clear(ctx context.Context, k Key) error
}

// A Backend is one storage engine providing every shape. Its methods are
// safe for concurrent use. After Close every method returns ErrClosed.
type Backend interface {
	Documents() Documents
	KV() KV
	Queues() Queues
	Archives() Archives
	// Ping reports whether the backend is reachable (readiness checks).
	Ping(ctx context.Context) error
	Close() error
}
