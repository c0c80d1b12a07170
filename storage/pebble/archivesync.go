package pebble

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// An archiveSyncer makes archive appends durable in the background.
//
// Why: an archive append (XEP-0313, one or two per chat message, one per
// room message) sits in the sender's routing path, because the entry's ID is
// the stanza-id the recipient sees. Waiting for an fsync there cost more CPU
// than the rest of routing a message and put a disk flush into every
// message's latency. The archive is history of messages that were already
// delivered live (an undelivered message goes to the offline queue, whose
// Push still syncs before it returns), so the trade is: an append commits to
// pebble's write-ahead log without waiting, and this syncer fsyncs the log
// within the configured window after the first unsynced append. Until then
// the record may still be in pebble's own log buffer (pebble hands a
// partial log block to the kernel only when a sync asks for it), so a crash
// of the process, like one of the machine, can lose the archive entries of
// at most the last window: history of delivered messages, never an
// undelivered one. Any synced write (a roster change, an offline push)
// syncs the whole log, archive entries included.
//
// Idle cost: none. The goroutine waits on a channel that only an unsynced
// append signals; there is no ticker.
type archiveSyncer struct {
	db     *pebble.DB
	window time.Duration
	log    *slog.Logger

	kick chan struct{} // capacity 1: an unsynced append happened
	quit chan struct{}
	done chan struct{}
	once sync.Once
	err  error // of the final sync, read after done

	syncs atomic.Int64 // log syncs completed, for tests
}

func startArchiveSyncer(db *pebble.DB, window time.Duration, log *slog.Logger) *archiveSyncer {
	a := &archiveSyncer{
		db:     db,
		window: window,
		log:    log,
		kick:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go a.run()
	return a
}

// dirty records an unsynced append: the next sync is at most window away.
func (a *archiveSyncer) dirty() {
	select {
	case a.kick <- struct{}{}:
	default: // a sync is already due
	}
}

func (a *archiveSyncer) run() {
	defer close(a.done)
	timer := time.NewTimer(a.window)
	timer.Stop()
	for {
		select {
		case <-a.kick:
		case <-a.quit:
			a.err = a.syncLog()
			return
		}
		// Appends arriving during the window share this sync; an append
		// after the drain below kicks again and gets the next one.
		timer.Reset(a.window)
		select {
		case <-timer.C:
		case <-a.quit:
			timer.Stop()
			a.err = a.syncLog()
			return
		}
		select {
		case <-a.kick:
		default:
		}
		if err := a.syncLog(); err != nil {
			a.log.Error("sync of archive appends failed; retrying", "err", err, "in", a.window)
			a.dirty()
		}
	}
}

// syncLog fsyncs the write-ahead log, and with it every append committed
// before: an empty log record written with Sync waits for the sync of
// everything ahead of it in the log.
func (a *archiveSyncer) syncLog() error {
	err := a.db.LogData(nil, pebble.Sync)
	a.syncs.Add(1) // after: a test waiting for it may then kill the process
	return err
}

// stop syncs what is pending and ends the goroutine; the DB is closed after.
func (a *archiveSyncer) stop() error {
	a.once.Do(func() { close(a.quit) })
	<-a.done
	return a.err
}
