// Package enginebench compares the two candidate embedded storage engines,
// github.com/cockroachdb/pebble/v2 and go.etcd.io/bbolt, on the write
// pattern that dominates xmppd's embedded store: offline-queue pushes and
// message-archive appends from many sessions at once, each durable (fsync)
// before it is acknowledged.
//
// The package holds only benchmarks (bench_test.go); it exists so that the
// choice of engine recorded in storage/pebble and BENCHMARKS.md can be
// re-measured on any machine:
//
//	go test ./storage/enginebench -run '^$' -bench . -benchtime 2s -count 3
//
// Each engine gets the minimal code that performs the real operation: a
// read-modify-write of a small per-user meta record (queue length and next
// id, or last archive id) plus the new item, committed as one durable
// write. Every goroutine writes to its own user, as distinct sessions do.
package enginebench
