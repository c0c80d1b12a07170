// Package riak implements storage.Backend on a Riak KV cluster through
// github.com/basho/riak-go-client (v1.7.0) over the Protocol Buffers
// interface. docs/riak.md has the operator's side: bucket types to create
// and the configuration keys.
//
// # Connections, retries, errors
//
// Requests go round-robin to the configured nodes over pooled connections.
// Each attempt waits at most Config.RequestTimeout for an answer; a node
// whose connection fails is skipped until a health-check ping succeeds.
// A failed attempt (refused or reset connection, timeout, a Riak error
// about the cluster's state such as overload or too few replicas) is
// retried on the next node after a jittered, doubling backoff, up to
// Config.Retries times, never past the caller's context. Errors then wrap
// storage.ErrUnavailable and say why ("request timed out after 5s",
// "connection refused", "no node available"); errors that a retry cannot
// fix (an unknown bucket type) come back at once as *Error. A retried
// write may have been applied by the attempt that failed: puts here are
// idempotent or merge-safe, except that a retried KV.Create can report
// ErrExists for its own first attempt.
//
// # Layout
//
// Two bucket types: D (Config.DocumentsBucketType, allow_mult = true,
// dvv_enabled = true) and V (Config.KVBucketType, allow_mult = false).
// P is Config.BucketPrefix. Kinds cannot contain '/', so the buckets below
// never collide.
//
//	Documents  D  bucket P<kind>                  key <user>   siblings, vclock context
//	KV         V  bucket P<kind>                  key <user>   one value, Create = if_none_match
//	queue      D  bucket Pqueue/<kind>            key <user>   index document (JSON)
//	  items    V  bucket Pqueue/<kind>/<user>     key <id>     item data
//	archive    V  bucket Parchive/<kind>/<user>   key <id>     entry data, 2i term
//
// Documents: Get returns every live sibling with the object's vclock as
// the context; Put sends that vclock back, so Riak (with dotted version
// vectors) replaces exactly the siblings the reader saw and keeps those
// written concurrently beside the new value. Tombstone siblings, left by a
// delete concurrent with a write, are not returned.
//
// Queues: an index document lists the queue's item IDs and recently
// acknowledged IDs; each item is its own object. Push reads the index,
// checks the limit, stores the item, then writes the index back with the
// read's vclock. Two nodes pushing to one queue at once make two sibling
// indexes; the next reader merges them as a set union of items less the
// union of acknowledged IDs, so no push is lost and no acknowledged item
// returns. Acknowledged IDs are kept an hour (far longer than any write
// in flight), then dropped. Ack and Clear delete the items first, then
// update the index, so a failure between the two leaves an ID whose item
// is gone, which Peek skips. Within one process the read-modify-write of
// one queue is serialised, which makes the limit exact against racers in
// the process; writers on other nodes can overshoot it by their number.
// Item IDs are time-ordered (ids.go) and made greater than every ID the
// index holds, so FIFO order is ID order.
//
// Archives: each entry is its own immutable object carrying one
// secondary-index term, ID ‖ time ‖ With, in index xmppd_entry_bin. A
// query is a 2i range scan in ID order with max_results pages that filters
// on the terms and reads only the entries it returns; Append first scans
// the IDs at or after the entry's time (normally none) so that a new ID
// sorts after every existing one even when times go backwards. An entry's
// ID time is never before its Time, which bounds scans from below by the
// query's Start; other bounds are checked per term. 2i cannot scan
// backwards, so a Last query (and DeleteBefore, Clear) reads every term
// in its range: cost grows with the archive's size, not the page's.
// Concurrent appends write different keys and cannot conflict. 2i needs
// the leveldb or memory storage backend, not bitcask; its coverage
// queries may miss a write that has not reached every replica yet.
//
// List uses Riak's list-keys on the kind's bucket, then reads each key
// (head only) to drop tombstones that list-keys reports until they are
// reaped. List-keys walks every key in the cluster, which Riak advises
// against in production; List is for admin tools only (storage.Documents
// says so), and the alternative, a per-kind index document written on
// every new user, would put one hot, sibling-prone object on the write
// path of every feature.
//
// # Metrics
//
// xmppd_riak_operations_total{op,outcome}, xmppd_riak_retries_total{op},
// xmppd_riak_operation_duration_seconds{op} and
// xmppd_riak_document_siblings, on Config.Registerer when set.
package riak
