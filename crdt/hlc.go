package crdt

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// A Timestamp is a hybrid logical clock reading: the upper 48 bits are wall
// time in milliseconds since the Unix epoch, the lower 16 bits a logical
// counter that orders events within one millisecond. Timestamps compare as
// plain integers. When more than 65,535 events fall into one millisecond the
// counter carries into the wall part, so the clock runs slightly ahead
// rather than ever repeating or going back.
type Timestamp uint64

const logicalBits = 16

// TimestampAt returns the smallest timestamp of the millisecond holding t
// (zero for times before 1970).
func TimestampAt(t time.Time) Timestamp {
	ms := t.UnixMilli()
	if ms < 0 {
		return 0
	}
	return Timestamp(uint64(ms) << logicalBits)
}

// durationTS converts d to timestamp units (whole milliseconds).
func durationTS(d time.Duration) Timestamp {
	if d <= 0 {
		return 0
	}
	return Timestamp(uint64(d.Milliseconds()) << logicalBits)
}

// Wall returns the wall-clock part of t.
func (t Timestamp) Wall() time.Time { return time.UnixMilli(int64(t >> logicalBits)) }

// Logical returns the logical counter of t.
func (t Timestamp) Logical() uint16 { return uint16(t) }

// String formats t as RFC 3339 wall time with the logical counter appended.
func (t Timestamp) String() string {
	return fmt.Sprintf("%s+%d", t.Wall().UTC().Format("2006-01-02T15:04:05.000Z"), t.Logical())
}

// DefaultMaxDrift is how far ahead of the local wall clock an observed
// timestamp may be before HLC.Observe refuses it.
const DefaultMaxDrift = time.Minute

// ErrClockDrift is returned by HLC.Observe for a timestamp too far ahead of
// the local wall clock.
var ErrClockDrift = errors.New("crdt: observed timestamp too far ahead of local clock")

// An HLC is a hybrid logical clock (Kulkarni et al., "Logical Physical
// Clocks", 2014): its readings follow wall time but never go back, never
// repeat, and never fall below a timestamp the clock has observed. It is
// safe for concurrent use.
type HLC struct {
	now      func() time.Time
	maxDrift time.Duration

	mu   sync.Mutex
	last Timestamp
}

// NewHLC returns a clock reading wall time from now (time.Now when nil).
// Tests inject a fake.
func NewHLC(now func() time.Time) *HLC {
	if now == nil {
		now = time.Now
	}
	return &HLC{now: now, maxDrift: DefaultMaxDrift}
}

// SetMaxDrift changes how far ahead of wall time Observe accepts a
// timestamp (DefaultMaxDrift initially). A non-positive d means no limit.
func (c *HLC) SetMaxDrift(d time.Duration) {
	c.mu.Lock()
	c.maxDrift = d
	c.mu.Unlock()
}

// Now returns a timestamp greater than every timestamp this clock returned
// or accepted through Observe before.
func (c *HLC) Now() Timestamp {
	phys := TimestampAt(c.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if phys > c.last {
		c.last = phys
	} else if c.last < ^Timestamp(0) {
		c.last++
	}
	return c.last
}

// Observe records ts (read from a document written elsewhere) so that later
// readings of Now exceed it. A timestamp more than the maximum drift ahead
// of local wall time is refused with ErrClockDrift and not recorded, so one
// node with a broken clock cannot drag every other clock into the future.
func (c *HLC) Observe(ts Timestamp) error {
	phys := TimestampAt(c.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxDrift > 0 && ts > phys && ts-phys > durationTS(c.maxDrift) {
		return fmt.Errorf("%w: %v (local %v)", ErrClockDrift, ts, phys)
	}
	if ts > c.last {
		c.last = ts
	}
	return nil
}

// An OpID names one operation: the writer that made it and the HLC reading
// it was stamped with. OpIDs are unique as long as each writer ID is used by
// one clock at a time. They are totally ordered by timestamp, then writer.
// An OpID is also the "dot" of the element entry or field write the
// operation created.
type OpID struct {
	TS     Timestamp
	Writer string
}

// Compare returns -1, 0 or +1 as a sorts before, equal to or after b.
func (a OpID) Compare(b OpID) int {
	switch {
	case a.TS < b.TS:
		return -1
	case a.TS > b.TS:
		return 1
	case a.Writer < b.Writer:
		return -1
	case a.Writer > b.Writer:
		return 1
	}
	return 0
}

// IsZero reports whether a is the zero OpID (no operation).
func (a OpID) IsZero() bool { return a.TS == 0 && a.Writer == "" }

// String formats a as "writer@timestamp".
func (a OpID) String() string { return fmt.Sprintf("%s@%d", a.Writer, uint64(a.TS)) }

// A Writer stamps the operations one node makes: its ID identifies the node
// in every document (the tie-break of last-writer-wins and the key of the
// version vector) and its clock orders them.
//
// The ID must be stable for the node (for instance its configured node
// name) and used by one process at a time; a node must not hand the same ID
// to two clocks. A Writer is safe for concurrent use; a Doc is not.
type Writer struct {
	id      string
	clock   *HLC
	stamped *[]OpID // non-nil for a writer from Recording
}

// NewWriter returns a writer with the given ID and clock.
func NewWriter(id string, clock *HLC) *Writer { return &Writer{id: id, clock: clock} }

// ID returns the writer's ID.
func (w *Writer) ID() string { return w.id }

// Clock returns the writer's clock.
func (w *Writer) Clock() *HLC { return w.clock }
