package enginebench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"
)

// payloadSize is a typical chat message stanza as stored.
const payloadSize = 512

// queueLimit is checked on every push, as the offline store does; it is
// large enough never to trip during a run.
const queueLimit = 1 << 40

// A writer performs one durable write of the given shape for user.
type engine interface {
	push(user string, data []byte) error   // offline-queue push
	append(user string, data []byte) error // archive append
	close() error
}

// meta is the per-user record both shapes read and rewrite: count and next
// sequence for a queue, last id for an archive.
type meta struct{ count, next uint64 }

func (m meta) encode() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, m.count)
	binary.BigEndian.PutUint64(b[8:], m.next)
	return b
}

func decodeMeta(b []byte) meta {
	if len(b) != 16 {
		return meta{}
	}
	return meta{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
}

func itemKey(prefix byte, user string, seq uint64) []byte {
	k := make([]byte, 0, 2+len(user)+9)
	k = append(k, prefix, 0)
	k = append(k, user...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

func metaKey(prefix byte, user string) []byte {
	k := make([]byte, 0, 3+len(user))
	k = append(k, 'm', prefix, 0)
	return append(k, user...)
}

// archiveID is max(now in ns, last+1): ordered like time, strictly rising.
func archiveID(last uint64) uint64 {
	return max(uint64(time.Now().UnixNano()), last+1)
}

// --- pebble ---

type pebbleEngine struct {
	db    *pebble.DB
	seed  maphash.Seed
	locks [256]sync.Mutex // per-user read-modify-write, striped
}

func openPebble(dir string) (*pebbleEngine, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	return &pebbleEngine{db: db, seed: maphash.MakeSeed()}, nil
}

// quietLogger drops pebble's informational messages.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func (e *pebbleEngine) lock(user string) *sync.Mutex {
	return &e.locks[maphash.String(e.seed, user)%uint64(len(e.locks))]
}

func (e *pebbleEngine) readMeta(k []byte) (meta, error) {
	v, c, err := e.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return meta{}, nil
	}
	if err != nil {
		return meta{}, err
	}
	m := decodeMeta(v)
	return m, c.Close()
}

func (e *pebbleEngine) write(prefix byte, user string, data []byte, next func(meta) (seq uint64, m meta, err error)) error {
	mu := e.lock(user)
	mu.Lock()
	defer mu.Unlock()
	mk := metaKey(prefix, user)
	m, err := e.readMeta(mk)
	if err != nil {
		return err
	}
	seq, m, err := next(m)
	if err != nil {
		return err
	}
	b := e.db.NewBatch()
	defer b.Close()
	if err := b.Set(itemKey(prefix, user, seq), data, nil); err != nil {
		return err
	}
	if err := b.Set(mk, m.encode(), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (e *pebbleEngine) push(user string, data []byte) error {
	return e.write('q', user, data, pushNext)
}

func (e *pebbleEngine) append(user string, data []byte) error {
	return e.write('a', user, data, appendNext)
}

func (e *pebbleEngine) close() error { return e.db.Close() }

func pushNext(m meta) (uint64, meta, error) {
	if m.count >= queueLimit {
		return 0, m, errors.New("queue full")
	}
	seq := m.next
	return seq, meta{m.count + 1, m.next + 1}, nil
}

func appendNext(m meta) (uint64, meta, error) {
	id := archiveID(m.next)
	return id, meta{m.count + 1, id}, nil
}

// --- bbolt ---

type boltEngine struct {
	db    *bolt.DB
	batch bool // db.Batch (group commit) instead of db.Update
}

var boltBucket = []byte("data")

func openBolt(dir string, batch bool) (*boltEngine, error) {
	db, err := bolt.Open(filepath.Join(dir, "bolt.db"), 0o600, nil)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltEngine{db: db, batch: batch}, nil
}

func (e *boltEngine) write(prefix byte, user string, data []byte, next func(meta) (uint64, meta, error)) error {
	fn := func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltBucket)
		mk := metaKey(prefix, user)
		seq, m, err := next(decodeMeta(bk.Get(mk)))
		if err != nil {
			return err
		}
		if err := bk.Put(itemKey(prefix, user, seq), data); err != nil {
			return err
		}
		return bk.Put(mk, m.encode())
	}
	if e.batch {
		return e.db.Batch(fn)
	}
	return e.db.Update(fn)
}

func (e *boltEngine) push(user string, data []byte) error {
	return e.write('q', user, data, pushNext)
}

func (e *boltEngine) append(user string, data []byte) error {
	return e.write('a', user, data, appendNext)
}

func (e *boltEngine) close() error { return e.db.Close() }

// --- harness ---

var engines = []struct {
	name string
	open func(dir string) (engine, error)
}{
	{"pebble", func(dir string) (engine, error) { return openPebble(dir) }},
	{"bolt-update", func(dir string) (engine, error) { return openBolt(dir, false) }},
	{"bolt-batch", func(dir string) (engine, error) { return openBolt(dir, true) }},
}

var shapes = []struct {
	name string
	op   func(e engine, user string, data []byte) error
}{
	{"queue", engine.push},
	{"archive", engine.append},
	{"mixed", func(e engine, user string, data []byte) error {
		// A message to an offline user: archived for the sender, queued
		// for the recipient.
		if err := e.append(user, data); err != nil {
			return err
		}
		return e.push(user, data)
	}},
}

// BenchmarkWrite measures durable writes per second and per-write latency
// for each engine, shape and number of concurrent writers. Each writer has
// its own user. Reported: ops/s (completed writes per wall-clock second)
// and p50/p99 latency in microseconds.
func BenchmarkWrite(b *testing.B) {
	data := make([]byte, payloadSize)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	for _, sh := range shapes {
		for _, writers := range []int{1, 8, 64} {
			for _, en := range engines {
				b.Run(fmt.Sprintf("%s/writers=%d/%s", sh.name, writers, en.name), func(b *testing.B) {
					e, err := en.open(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					defer e.close()
					lat := make([][]time.Duration, writers)
					var next atomic.Int64
					var wg sync.WaitGroup
					var failed atomic.Value
					b.ResetTimer()
					start := time.Now()
					for w := range writers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							user := fmt.Sprintf("user%d@example.net", w)
							for next.Add(1) <= int64(b.N) {
								t0 := time.Now()
								if err := sh.op(e, user, data); err != nil {
									failed.Store(err)
									return
								}
								lat[w] = append(lat[w], time.Since(t0))
							}
						}()
					}
					wg.Wait()
					elapsed := time.Since(start)
					b.StopTimer()
					if err, ok := failed.Load().(error); ok {
						b.Fatal(err)
					}
					all := slices.Concat(lat...)
					slices.Sort(all)
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
					b.ReportMetric(float64(percentile(all, 0.50).Microseconds()), "p50-µs")
					b.ReportMetric(float64(percentile(all, 0.99).Microseconds()), "p99-µs")
				})
			}
		}
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
