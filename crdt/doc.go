// Package crdt holds the conflict-free replicated document that xmppd stores
// rosters and privacy lists in (DESIGN.md, "Storage model: CRDT operation
// logs"). It is pure data structures and merge logic: no I/O, no XMPP.
//
// # Model
//
// A Doc is a map from element keys (a contact's bare JID, or
// "list/LOL/item/<value>") to elements, plus document-level fields. Each
// element carries named fields whose values are byte strings. Features read
// a document by decoding every sibling the store returned and merging them
// (Load), change it with Add, Set, Remove and SetDoc, and write back Encode.
//
// Every change is an operation stamped with an OpID (writer ID + hybrid
// logical clock reading). An operation creates at most one entry, named by
// its OpID (its "dot"), and lists the dots it observed and supersedes:
//
//   - Add(key) creates a presence entry for key and supersedes the presence
//     entries of key it saw.
//   - Set(key, field, v) creates a write of field and supersedes the writes
//     of that field it saw. A write keeps its element present: Set counts as
//     an add, so setting a field of a removed or never-added key (re)creates
//     it with that one field.
//   - Remove(key) creates nothing and supersedes every entry of key it saw:
//     presence and all field writes. Fields therefore do not survive a
//     remove; re-adding a key starts with no fields.
//   - SetDoc(field, v) is Set for a document-level field; those are never
//     removed, only overwritten.
//
// An entry is live unless an operation superseded it. An element exists
// while it has a live entry, which makes membership an add-wins
// observed-remove set: a remove only kills the entries it observed, so an
// Add or Set concurrent with a Remove survives it. A field's value is its
// live write with the greatest OpID — last writer wins by HLC timestamp,
// writer ID breaking ties. Several live writes of one field only exist
// after concurrent Sets; the next Set that sees them supersedes them all.
//
// The state (live entries, and the set of every dot the document has seen,
// its causal context) is a join-semilattice, so Merge — keep entries live
// on both sides, or live on one side and unseen by the other; union the
// causal contexts — is commutative, associative and idempotent. Applying an
// operation is merging the tiny document it stands for; applying one twice
// is applying it once. Apply costs O(entries of one key), independent of
// the document's size: there is an index from dot to key.
//
// # Log and snapshot
//
// A Doc keeps the operations it has not compacted yet (its log) with their
// full content, and a snapshot: a version vector mapping each writer to the
// newest of its timestamps that compaction folded, plus the live entries of
// the folded operations. The causal context is "every dot at or below the
// version vector", plus the OpIDs in the log, plus the dots that log
// operations superseded (and that compaction could not yet cover).
// Merge takes the union of the logs and the join of the snapshots; an
// operation at or below the merged vector is dropped from the log, since
// the snapshot that covers it already holds its effect.
//
// # Compaction
//
// CompactBefore(cutoff) folds every logged operation stamped at or before
// cutoff: per writer, the version vector rises to the newest folded
// timestamp, the operations leave the log (their live entries stay, now as
// snapshot entries), and superseded dots at or below the new vector are
// forgotten — a dot covered by the vector and absent from the snapshot is
// dead, so old siblings still carrying it as a live entry, or carrying the
// operation that made it, merge correctly: the entry is killed, the
// operation dropped as already seen. A compacted document merged with an
// uncompacted older sibling reaches the same state as the two uncompacted
// logs would (the property tests check exactly this).
//
// This rests on one assumption, per writer: a writer's operations on a
// document reach any copy in the order they were made — whoever holds a
// writer's operation at time t holds all of that writer's operations on the
// document before t. It holds when a writer always issues operations on a
// document that contains its own earlier operations, which is the case
// whenever a node reads its own writes (the embedded store; Riak with
// quorum reads and writes). A writer whose read missed its own recent write
// would break it; CompactPolicy.MinAge narrows that window to operations
// older than the age given (an hour by default): the log keeps young
// operations with their exact causal context, and only operations that
// every reader has had time to see are folded.
//
// # Deltas
//
// Delta cuts the document that some logged operations stand for out of a
// Doc (a Writer from Recording names the operations one change made).
// Merged into any copy, a delta has the effect of making those operations
// there, so a store can write a change as a small sibling of its own
// instead of rewriting the document (delta.go says when that is safe
// under compaction). Merge and Load cost the smaller side's size when it
// is such a delta.
//
// # Encoding
//
// Encode writes a versioned binary framing of our own rather than protobuf:
// the document is a handful of tables (strings, version vector, superseded
// dots, snapshot entries, log) that a schema would model no better, and the
// framing buys what protobuf would not: writer IDs and field names interned
// once, element keys sorted and prefix-compressed (a privacy list's keys
// share "list/NAME/item/"), a canonical byte form (equal states encode
// equally), decoding that bounds every count and length by the bytes left
// (a length of 2^60 fails, it does not allocate), and no generated code.
// The layout is one version byte, the body, and a CRC-32C of both; see
// encode.go. Decode rejects an unknown version, a bad checksum, truncation,
// trailing bytes and out-of-range references with an error, never a panic.
package crdt

import (
	"slices"
	"strings"
)

// opKind says what an operation does.
type opKind uint8

const (
	opAdd    opKind = 1
	opRemove opKind = 2
	opSet    opKind = 3
	opSetDoc opKind = 4
)

// An op is one logged operation. Ops are immutable once made and may be
// shared between documents.
type op struct {
	id      OpID
	kind    opKind
	key     string // add, remove, set
	field   string // set, setdoc
	value   []byte // set, setdoc
	removes []OpID // dots observed and superseded
}

// An entry is one live presence marker (isField false) or field write of an
// element or of the document.
type entry struct {
	dot     OpID
	isField bool
	field   string
	value   []byte
}

// A Doc is a replicated document; see the package comment for its
// semantics. The zero value is not usable: call New, Decode or Load. A Doc
// is not safe for concurrent use.
type Doc struct {
	vv      map[string]Timestamp // snapshot version vector
	removed map[OpID]struct{}    // superseded dots above vv
	log     map[OpID]*op         // operations above vv

	elems     map[string][]entry // live element entries by key
	where     map[OpID]string    // live element entry dot -> key
	docFields []entry            // live document-level writes

	wmax   map[string]Timestamp // newest timestamp seen per writer
	maxTS  Timestamp            // newest timestamp seen at all
	sorted []string             // sorted keys cache; nil when stale
}

// New returns an empty document.
func New() *Doc {
	return &Doc{
		vv:      make(map[string]Timestamp),
		removed: make(map[OpID]struct{}),
		log:     make(map[OpID]*op),
		elems:   make(map[string][]entry),
		where:   make(map[OpID]string),
		wmax:    make(map[string]Timestamp),
	}
}

// Add makes key present, keeping its fields. It returns the operation's ID.
func (d *Doc) Add(w *Writer, key string) OpID {
	o := &op{id: d.stamp(w), kind: opAdd, key: key}
	for _, e := range d.elems[key] {
		if !e.isField {
			o.removes = append(o.removes, e.dot)
		}
	}
	d.apply(o)
	return o.id
}

// Set writes value (copied) to field of key and makes key present if it was
// not. An empty or nil value is a value like any other; Field reports it.
func (d *Doc) Set(w *Writer, key, field string, value []byte) OpID {
	o := &op{id: d.stamp(w), kind: opSet, key: key, field: field, value: slices.Clone(value)}
	for _, e := range d.elems[key] {
		if e.isField && e.field == field {
			o.removes = append(o.removes, e.dot)
		}
	}
	d.apply(o)
	return o.id
}

// Remove removes key with all its fields, as far as this document has seen
// them: an Add or Set made concurrently elsewhere survives the merge. If
// key is absent nothing is recorded and ok is false.
func (d *Doc) Remove(w *Writer, key string) (id OpID, ok bool) {
	es := d.elems[key]
	if len(es) == 0 {
		return OpID{}, false
	}
	o := &op{id: d.stamp(w), kind: opRemove, key: key, removes: make([]OpID, 0, len(es))}
	for _, e := range es {
		o.removes = append(o.removes, e.dot)
	}
	d.apply(o)
	return o.id, true
}

// SetDoc writes value (copied) to the document-level field.
func (d *Doc) SetDoc(w *Writer, field string, value []byte) OpID {
	o := &op{id: d.stamp(w), kind: opSetDoc, field: field, value: slices.Clone(value)}
	for _, e := range d.docFields {
		if e.field == field {
			o.removes = append(o.removes, e.dot)
		}
	}
	d.apply(o)
	return o.id
}

// stamp returns a fresh OpID for w, above every timestamp in d: the clock
// observes the document first, and if it refused (a far-future timestamp)
// the ID is still placed above w's own earlier operations, which the
// version vector requires.
func (d *Doc) stamp(w *Writer) OpID {
	_ = w.clock.Observe(d.maxTS) // refusal handled below
	ts := w.clock.Now()
	if m := d.wmax[w.id]; ts <= m && m < ^Timestamp(0) {
		ts = m + 1
		_ = w.clock.Observe(ts) // keep the clock ahead of w's own ops if it accepts
	}
	id := OpID{TS: ts, Writer: w.id}
	if w.stamped != nil {
		*w.stamped = append(*w.stamped, id)
	}
	return id
}

// Has reports whether key is present.
func (d *Doc) Has(key string) bool { return len(d.elems[key]) > 0 }

// Len returns the number of present keys.
func (d *Doc) Len() int { return len(d.elems) }

// Get returns the fields of key (values shared with the document: do not
// modify them) and whether key is present. A present key may have no
// fields.
func (d *Doc) Get(key string) (map[string][]byte, bool) {
	es := d.elems[key]
	if len(es) == 0 {
		return nil, false
	}
	fields := make(map[string][]byte)
	best := make(map[string]OpID)
	for _, e := range es {
		if !e.isField {
			continue
		}
		if b, ok := best[e.field]; !ok || e.dot.Compare(b) > 0 {
			best[e.field] = e.dot
			fields[e.field] = e.value
		}
	}
	return fields, true
}

// Field returns the value of field of key (shared: do not modify it) and
// whether key is present with that field written.
func (d *Doc) Field(key, field string) ([]byte, bool) {
	return winner(d.elems[key], field)
}

// DocField returns the value of a document-level field (shared: do not
// modify it) and whether it was ever written.
func (d *Doc) DocField(field string) ([]byte, bool) {
	return winner(d.docFields, field)
}

// winner returns the value of the greatest live write of field in es.
func winner(es []entry, field string) ([]byte, bool) {
	var best *entry
	for i := range es {
		e := &es[i]
		if e.isField && e.field == field && (best == nil || e.dot.Compare(best.dot) > 0) {
			best = e
		}
	}
	if best == nil {
		return nil, false
	}
	return best.value, true
}

// Keys returns the present keys in ascending order, in a new slice.
func (d *Doc) Keys() []string {
	return slices.Clone(d.sortedKeys())
}

// KeysWithPrefix returns the present keys that start with prefix, in
// ascending order, in a new slice.
func (d *Doc) KeysWithPrefix(prefix string) []string {
	ks := d.sortedKeys()
	i, _ := slices.BinarySearch(ks, prefix)
	j := i
	for j < len(ks) && strings.HasPrefix(ks[j], prefix) {
		j++
	}
	return slices.Clone(ks[i:j])
}

// sortedKeys returns the cached sorted key slice, rebuilding it if stale.
func (d *Doc) sortedKeys() []string {
	if d.sorted == nil {
		d.sorted = make([]string, 0, len(d.elems))
		for k := range d.elems {
			d.sorted = append(d.sorted, k)
		}
		slices.Sort(d.sorted)
	}
	return d.sorted
}

// LogLen returns the number of operations not yet compacted.
func (d *Doc) LogLen() int { return len(d.log) }

// MaxTimestamp returns the newest timestamp the document holds or has
// held; writers observe it before stamping.
func (d *Doc) MaxTimestamp() Timestamp { return d.maxTS }

// Clone returns a deep copy of d sharing only immutable data.
func (d *Doc) Clone() *Doc {
	c := New()
	c.Merge(d)
	return c
}
