package crdt

import (
	"cmp"
	"fmt"
	"slices"
)

// Merge joins other into d: afterwards d holds every operation either held,
// each entry live in both, or live in one and unseen by the other, and the
// union of their causal contexts. Merge is commutative, associative and
// idempotent up to the encoded form: merging a into b and b into a encode
// to the same bytes. These laws assume that each OpID names one operation,
// which the Writer contract guarantees; a corrupt document reusing an
// OpID for other content merges without error but not necessarily
// commutatively. other is not modified and shares no mutable state with d
// afterwards.
func (d *Doc) Merge(other *Doc) {
	if other == d {
		return
	}
	// Entries of d that other has seen and not kept were superseded there.
	if len(other.vv) == 0 {
		// other's causal context is just its log and superseded dots (a
		// delta, say): look those up, so that merging a small document
		// into a large one costs the small one's size.
		for dot := range other.removed {
			if _, ok := d.where[dot]; ok && !other.live(dot) {
				d.kill(dot)
			}
		}
		for dot := range other.log {
			if _, ok := d.where[dot]; ok && !other.live(dot) {
				d.kill(dot)
			}
		}
	} else {
		for dot := range d.where {
			if other.seen(dot) && !other.live(dot) {
				d.kill(dot)
			}
		}
	}
	var keep []entry
	for _, e := range d.docFields {
		if !other.seen(e.dot) || other.live(e.dot) {
			keep = append(keep, e)
		}
	}
	// Entries of other that d has not seen are new to d. Both loops read
	// the causal contexts before either changes.
	for key, es := range other.elems {
		for _, e := range es {
			if !d.seen(e.dot) {
				d.insert(key, e)
			}
		}
	}
	for _, e := range other.docFields {
		if !d.seen(e.dot) {
			keep = append(keep, e)
		}
	}
	d.docFields = keep

	raised := false
	for w, ts := range other.vv {
		if ts > d.vv[w] {
			d.vv[w] = ts
			raised = true
		}
	}
	// What the (joined) version vector covers is dropped: the snapshot
	// holds its effect. Only a raised vector can cover more of d's own.
	for dot := range other.removed {
		if !d.covered(dot) {
			d.removed[dot] = struct{}{}
		}
	}
	for id, o := range other.log {
		if !d.covered(id) {
			d.log[id] = o
		}
	}
	for w, ts := range other.wmax {
		if ts > d.wmax[w] {
			d.wmax[w] = ts
		}
	}
	d.maxTS = max(d.maxTS, other.maxTS)
	if raised {
		d.prune()
	}
}

// prune drops logged ops and superseded dots that the version vector
// covers: the snapshot already holds their effect.
func (d *Doc) prune() {
	for id := range d.log {
		if d.covered(id) {
			delete(d.log, id)
		}
	}
	for dot := range d.removed {
		if d.covered(dot) {
			delete(d.removed, dot)
		}
	}
}

// Merge returns a new document merging docs (an empty one if none).
func Merge(docs ...*Doc) *Doc {
	out := New()
	for _, x := range docs {
		out.Merge(x)
	}
	return out
}

// Load decodes and merges the siblings a store returned: the read half of
// a read-modify-write. No siblings give an empty document. A sibling that
// does not decode is an error naming its position; the caller decides
// whether to fail or to drop it.
//
// The largest sibling is decoded first and the others merged into it, so
// that small siblings (deltas) cost their own size, not the document's.
func Load(siblings [][]byte) (*Doc, error) {
	order := make([]int, len(siblings))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(siblings[b]), len(siblings[a])) })
	var out *Doc
	for _, i := range order {
		b := siblings[i]
		x, err := Decode(b)
		if err != nil {
			return nil, fmt.Errorf("crdt: sibling %d of %d: %w", i+1, len(siblings), err)
		}
		if out == nil {
			out = x // a fresh decode: nothing else refers to it
			continue
		}
		out.Merge(x)
	}
	if out == nil {
		out = New()
	}
	return out, nil
}
