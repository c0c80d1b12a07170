// Package pebble is xmppd's embedded default store: a storage.Backend in a
// single directory on one node, with zero set-up. Open creates the
// directory on first start; every write is durable (write-ahead log fsync)
// before the call returns, except archive appends, whose fsync is shared
// across a short window (Options.ArchiveSync; why in archivesync.go).
//
// # Why pebble
//
// The engine was chosen by measuring the write pattern that dominates the
// store, offline-queue pushes and message-archive appends from many
// sessions at once with fsync on, against go.etcd.io/bbolt v1.5.0 (one
// db.Update per write, and db.Batch for group commit). Medians of three
// runs of storage/enginebench on the 2-core development VM:
//
//	shape    writers  pebble ops/s (p50/p99)    bbolt Update          bbolt Batch
//	queue      1       4,547 (211µs/382µs)      3,360 (278µs/535µs)      92 (10.8ms)
//	queue      8      17,446 (430µs/908µs)      2,137 (3.6ms/6.6ms)     660 (11.3ms)
//	queue     64      66,907 (543µs/7.5ms)      2,524 (24.9ms/36ms)   4,861 (12.9ms)
//	archive   64      68,352 (493µs/7.4ms)      2,784 (22.8ms/31ms)   5,000 (12.4ms)
//
// pebble commits concurrent synced batches with one WAL fsync (group
// commit) and readers never block writers; bbolt serialises every writer on
// one transaction and pays two fsyncs per commit, and its Batch trades that
// for a 10ms collection delay. At one writer pebble is 1.35× bbolt; at 64
// writers it is 13–26×. The full table and the command are in
// BENCHMARKS.md.
//
// # Layout and models
//
// Keys are tag, kind, NUL, user (see keys.go); List(kind) is a prefix scan
// and each user's entries are contiguous. Reads see a consistent snapshot;
// read-modify-writes on one key (queue push with its limit, archive append,
// document put, KV create and delete) are serialised by a striped lock, and
// writes to different keys commit concurrently.
//
//   - Documents keep Riak's sibling model on one node: each sibling is a key
//     suffixed with a version from a store-wide sequence, a Get's causal
//     context is the greatest version it returned, and Put removes the
//     siblings with version ≤ context before adding its value. Two writers
//     from one Get therefore leave two siblings, exactly as Riak with
//     allow_mult does, and the merge code path is the same for both
//     backends.
//   - Queue IDs are 16 hex digits of the same sequence, so string order is
//     push order and IDs keep rising across Ack, Clear and restarts. A meta
//     key holds the count for Len and the limit check.
//   - Archive IDs are 16 hex digits of max(Time in Unix ns, last ID + 1):
//     ordered like Time, strictly increasing when the clock steps back, and
//     usable as XEP-0359 stanza ids. Time bounds become seeks; With is a
//     filter applied during the scan (fine for per-user archives; a With
//     index would be the next step for very large ones).
//
// The sequence survives restarts by durably reserving blocks of numbers, so
// it costs one extra synced write per 4096 allocations.
//
// # One process per directory
//
// Open takes an exclusive flock on <dir>/xmppd.lock, which holds the PID of
// the owner. A second process (for example the CLI while the server runs)
// waits up to Options.LockTimeout (1s by default) and then fails with
// ErrLocked, naming the PID. The lock dies with its process, so a crash
// never leaves a stale lock. pebble's own LOCK file stays as a second guard.
package pebble
