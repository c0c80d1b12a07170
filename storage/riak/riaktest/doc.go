// Package riaktest is an in-process Riak KV server for tests: it speaks the
// real Riak Protocol Buffers Client (PBC) protocol over TCP (a 4-byte
// big-endian length, a 1-byte message code, a protobuf body, with the
// message types that github.com/basho/riak-go-client ships), so that
// storage/riak is tested through the same client library and wire format
// it uses against Riak, without a Riak installation (none is packaged for
// Debian).
//
// A Cluster holds one dataset; each Node started on it is a listener on
// 127.0.0.1 that serves that dataset, as the nodes of a Riak cluster would
// if every write reached every replica at once. Each node has faults that
// tests switch on and off: Down (listener and connections closed, connects
// refused) and Up (same address again), SetDelay (each request waits
// before it is applied and answered), ResetNext (the connection is closed
// after a request is read, before it is applied).
//
// # What it models
//
//   - Messages: ping, server info, get, put, delete, list keys, list
//     buckets, get bucket and bucket-type properties, secondary-index
//     queries. Others get an RpbErrorResp, as Riak answers unknown codes.
//   - Bucket types given in Options, plus "default" (allow_mult = false);
//     requests naming another type fail with an error naming it, as an
//     uncreated or inactive type does in Riak.
//   - Vector clocks and siblings as Riak does with dvv_enabled: the object
//     has a clock (actor → counter; the actor is the node that coordinates
//     the write, like a vnode) and each sibling carries the dot of the
//     write that made it. A put's vclock replaces exactly the siblings
//     whose dots it covers; a put without a vclock, or with one that does
//     not cover a sibling, leaves that sibling beside the new value
//     (allow_mult = true). With allow_mult = false the write replaces
//     everything (last write wins). Clocks are opaque bytes to clients
//     (VClock.Encode); a clock a client made up is refused.
//   - if_none_match (match_found), if_not_modified (modified), return_body,
//     return_head, head and if_modified gets, server-generated keys.
//   - Deletes write tombstones: a get answers not found (or the
//     tombstone's vclock with deletedvclock), a write concurrent with the
//     delete leaves a tombstone sibling beside it (content with deleted
//     set), list-keys reports the key until the tombstone is reaped after
//     Options.TombstoneTTL (Riak's delete_mode: 3s by default, or keep).
//   - Secondary indexes as with the leveldb backend: _bin (bytewise) and
//     _int (numeric) equality and inclusive ranges, $key and $bucket,
//     return_terms, max_results with an opaque continuation, streaming,
//     term_regex (Go regexp syntax, not Erlang's); tombstones unindexed;
//     results always sorted by term then key.
//
// # What it does not model
//
//   - Replication and its anomalies: there is one copy, so no n_val, R/W
//     quorums, sloppy quorums, hinted handoff, read repair, anti-entropy or
//     stale reads; every read sees every acknowledged write, and 2i and
//     list-keys are exact, where Riak's coverage queries may miss a
//     recent write.
//   - Classic (non-DVV) per-sibling vclocks and their sibling explosion:
//     allow_mult without dvv_enabled resolves like dvv_enabled.
//   - Vclock pruning (small/big_vclock), last_write_wins = true, write_once,
//     consistent (strongly consistent) bucket types, and per-bucket
//     properties (set bucket is not served; get bucket reports the type's).
//   - Riak data types (counters, sets, maps), Yokozuna search, MapReduce,
//     time series, coverage plans, security (STARTTLS, auth).
//   - Object size limits and siblings limits (Riak warns and refuses at
//     configured sizes; this server accepts frames up to 64 MiB).
//   - Persistence: the dataset lives in memory for the Cluster's lifetime.
package riaktest
