package crdt

import (
	"fmt"
	"time"
)

// Defaults of CompactPolicy.
const (
	DefaultMaxLog = 256
	DefaultMinAge = time.Hour
)

// A CompactPolicy says when Compact folds the log into the snapshot. The
// zero value means the defaults.
type CompactPolicy struct {
	// MaxLog: compaction runs once the log holds more operations than this
	// (DefaultMaxLog when zero).
	MaxLog int
	// MinAge: only operations older than this are folded (DefaultMinAge
	// when zero; negative means no age limit). See the package comment on
	// why young operations stay in the log.
	MinAge time.Duration
}

// Validate reports whether p is usable.
func (p CompactPolicy) Validate() error {
	if p.MaxLog < 0 {
		return fmt.Errorf("crdt: compact policy: negative max log %d", p.MaxLog)
	}
	return nil
}

// Compact folds the operations that p allows if the log has outgrown
// p.MaxLog, and returns how many it folded. now is the wall time the age
// limit counts from.
func (d *Doc) Compact(p CompactPolicy, now time.Time) int {
	limit := p.MaxLog
	if limit == 0 {
		limit = DefaultMaxLog
	}
	if len(d.log) <= limit {
		return 0
	}
	age := p.MinAge
	if age == 0 {
		age = DefaultMinAge
	}
	cutoff := ^Timestamp(0)
	if age > 0 {
		cutoff = TimestampAt(now.Add(-age))
	}
	return d.CompactBefore(cutoff)
}

// CompactBefore folds every logged operation stamped at or before cutoff
// into the snapshot, whatever the log's size, and returns how many it
// folded. The materialised state does not change. Merging the result with
// any sibling gives the same state as merging the uncompacted document.
func (d *Doc) CompactBefore(cutoff Timestamp) int {
	fold := make(map[string]Timestamp)
	n := 0
	for id := range d.log {
		if id.TS <= cutoff {
			n++
			if id.TS > fold[id.Writer] {
				fold[id.Writer] = id.TS
			}
		}
	}
	if n == 0 {
		return 0
	}
	for w, ts := range fold {
		if ts > d.vv[w] {
			d.vv[w] = ts
		}
	}
	d.prune()
	return n
}
