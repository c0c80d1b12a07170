package crdt

import (
	"fmt"
	"slices"
)

// A delta is the document that some logged operations stand for, and
// nothing else: their log entries, their live entries, and as causal
// context their own IDs and the dots they supersede. Merging it into a
// document is applying those operations there (Merge's laws make this
// exact: applying an operation is already the join of its tiny document),
// so a store can write a delta as a sibling of its own instead of
// rewriting the whole document, and every reader that merges the siblings
// sees the operations (crdtstore.Append).
//
// A delta carries some of a writer's operations without the earlier ones.
// Until those reach a document too, that document breaks the per-writer
// order assumption of compaction (package comment), exactly as a document
// read while another write of the same writer was still in flight does; a
// store only merges deltas into the document it read, which holds every
// stored sibling, and CompactPolicy.MinAge keeps operations young enough
// to be in flight out of compaction.

// Delta returns a new document holding only the logged operations named
// by ids (in any order; duplicates are ignored). An ID that is not in d's
// log — never made, or folded by compaction since — is an error. The
// result shares only immutable operations with d.
func (d *Doc) Delta(ids ...OpID) (*Doc, error) {
	out := New()
	for _, id := range ids {
		o, ok := d.log[id]
		if !ok {
			return nil, fmt.Errorf("crdt: delta: operation %v is not in the log", id)
		}
		out.apply(o)
	}
	return out, nil
}

// Recording returns a writer with w's ID and clock that remembers the ID
// of every operation it stamps, for Delta. Unlike w, it is not safe for
// concurrent use: make one per change.
func (w *Writer) Recording() *Writer {
	return &Writer{id: w.id, clock: w.clock, stamped: new([]OpID)}
}

// Stamped returns, in a new slice, the IDs of the operations a writer from
// Recording has stamped, oldest first; nil for any other writer.
func (w *Writer) Stamped() []OpID {
	if w.stamped == nil {
		return nil
	}
	return slices.Clone(*w.stamped)
}
