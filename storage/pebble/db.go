package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/xmppd/xmppd/storage"
)

// Options tunes the store. The zero value is the defaults.
type Options struct {
	// LockTimeout is how long Open waits for another process holding the
	// directory to let go before it fails with ErrLocked. Default 1s;
	// negative means do not wait at all.
	LockTimeout time.Duration
	// MaxValueSize bounds every stored value (KV value, document sibling,
	// queue item, archive entry payload); larger writes fail with
	// storage.ErrTooLarge. Default 8 MiB.
	MaxValueSize int
	// CacheSize is the block cache size in bytes. Default 64 MiB.
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes; writes are
	// flushed to a table file when it fills. Default 16 MiB.
	MemTableSize uint64
	// ArchiveSync is how long an archive append may wait for the fsync
	// that makes it survive a crash (of the process or the machine);
	// appends inside one window share one fsync. Default 100ms; negative means every append waits for
	// its own (group-committed) fsync. See archiveSyncer.
	ArchiveSync time.Duration
	// Logger receives the engine's own messages (informational at Debug,
	// errors at Error). Default: discarded.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = 8 << 20
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 64 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 16 << 20
	}
	if o.ArchiveSync == 0 {
		o.ArchiveSync = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ErrLocked is returned by Open when another process (or another Open in
// this one) has the directory open, typically a running server.
var ErrLocked = errors.New("pebble: store directory is in use by another process")

// lockStripes is the number of per-key write locks; keys hash onto them.
const lockStripes = 1024

// A DB is an open store. It implements storage.Backend; its methods are safe
// for concurrent use. Close it to release the directory.
type DB struct {
	opts Options
	dir  string

	// life guards db against Close: every operation holds it for reading.
	life   sync.RWMutex
	closed bool
	db     *pebble.DB
	lock   io.Closer // the directory lock file

	seq   sequence
	sync  *archiveSyncer // nil when every archive append syncs
	seed  maphash.Seed
	locks [lockStripes]sync.Mutex // serialise read-modify-write per key
	// metas caches the meta of recently appended archives, one map per
	// lock stripe, read and written only under that stripe's lock (which
	// every writer of an archive's meta holds): an append then needs no
	// read from the engine. Bounded by metasPerStripe per stripe.
	metas [lockStripes]map[string]archiveMeta
}

// metasPerStripe bounds the archive meta cache: lockStripes × this many
// archives (64k) stay cached, enough for every active conversation of a
// large node; a full stripe is emptied and refills from the engine.
const metasPerStripe = 64

var _ storage.Backend = (*DB)(nil)

// Open opens the store in dir, creating dir and an empty store if absent.
// It fails with ErrLocked (after opts.LockTimeout) when another process has
// the directory open.
func Open(dir string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pebble: create %s: %w", dir, err)
	}
	lock, err := lockDir(dir, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref()
	pdb, err := pebble.Open(dir, &pebble.Options{
		Cache:        cache,
		MemTableSize: opts.MemTableSize,
		Logger:       engineLogger{opts.Logger},
	})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	d := &DB{opts: opts, dir: dir, db: pdb, lock: lock, seed: maphash.MakeSeed()}
	if err := d.seq.init(pdb); err != nil {
		pdb.Close()
		lock.Close()
		return nil, fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	if opts.ArchiveSync > 0 {
		d.sync = startArchiveSyncer(pdb, opts.ArchiveSync, opts.Logger)
	}
	return d, nil
}

// Close flushes nothing (every acknowledged write is already durable),
// closes the engine and releases the directory. Operations in flight finish
// first; later ones return storage.ErrClosed. Closing twice returns
// storage.ErrClosed.
func (d *DB) Close() error {
	d.life.Lock()
	defer d.life.Unlock()
	if d.closed {
		return storage.ErrClosed
	}
	d.closed = true
	var err error
	if d.sync != nil {
		err = d.sync.stop() // the last deferred archive appends are synced first
	}
	if cerr := d.db.Close(); err == nil {
		err = cerr
	}
	if lerr := d.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("pebble: close %s: %w", d.dir, err)
	}
	return nil
}

// Ping reports whether the store is open.
func (d *DB) Ping(ctx context.Context) error {
	return d.do(ctx, func() error { return nil })
}

// Documents returns the document store.
func (d *DB) Documents() storage.Documents { return documents{d} }

// KV returns the key-value store.
func (d *DB) KV() storage.KV { return kv{d} }

// Queues returns the queue store.
func (d *DB) Queues() storage.Queues { return queues{d} }

// Archives returns the archive store.
func (d *DB) Archives() storage.Archives { return archives{d} }

// do runs f unless the store is closed or ctx is done. f runs to completion
// once started: engine calls are not interruptible.
func (d *DB) do(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return storage.ErrClosed
	}
	return f()
}

// lockKey returns the write lock for k's entries of one shape.
func (d *DB) lockKey(tag byte, k storage.Key) *sync.Mutex {
	return &d.locks[d.stripe(tag, k)]
}

// stripe returns the index of k's lock stripe for one shape.
func (d *DB) stripe(tag byte, k storage.Key) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteByte(tag)
	h.WriteString(k.Kind)
	h.WriteByte(0)
	h.WriteString(k.User)
	return h.Sum64() % lockStripes
}

func (d *DB) checkSize(n int) error {
	if n > d.opts.MaxValueSize {
		return fmt.Errorf("%w: %d bytes, limit %d", storage.ErrTooLarge, n, d.opts.MaxValueSize)
	}
	return nil
}

// get returns a copy of the value at key, or nil, false.
func (d *DB) get(key []byte) ([]byte, bool, error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte{}, v...)
	return out, true, closer.Close()
}

// commit applies b durably (fsync of the write-ahead log) and closes it.
// Concurrent commits share one fsync (pebble's group commit).
func commit(b *pebble.Batch) error {
	defer b.Close()
	return b.Commit(pebble.Sync)
}

// A sequence hands out increasing numbers that stay increasing across
// restarts: document versions and queue IDs. It reserves blocks by durably
// storing a high-water mark, so a restart resumes above anything handed out
// and only one write in seqBlock touches the disk.
type sequence struct {
	mu          sync.Mutex
	db          *pebble.DB
	next, limit uint64
}

const seqBlock = 4096

func (s *sequence) init(db *pebble.DB) error {
	s.db = db
	v, closer, err := db.Get(seqKey)
	if errors.Is(err, pebble.ErrNotFound) {
		s.next, s.limit = 1, 1
		return nil
	}
	if err != nil {
		return fmt.Errorf("read sequence: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return fmt.Errorf("read sequence: corrupt value of %d bytes", len(v))
	}
	s.next = binary.BigEndian.Uint64(v)
	s.limit = s.next
	return nil
}

// alloc returns the next number.
func (s *sequence) alloc() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == s.limit {
		mark := binary.BigEndian.AppendUint64(nil, s.limit+seqBlock)
		if err := s.db.Set(seqKey, mark, pebble.Sync); err != nil {
			return 0, fmt.Errorf("reserve sequence: %w", err)
		}
		s.limit += seqBlock
	}
	n := s.next
	s.next++
	return n, nil
}

// engineLogger forwards pebble's messages to slog.
type engineLogger struct{ log *slog.Logger }

func (l engineLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l engineLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by the engine on unrecoverable corruption; it must not
// return.
func (l engineLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}
