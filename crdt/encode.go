package crdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// Encoding, version 1. Integers are unsigned varints (encoding/binary);
// a dot is a string-table index then a timestamp; bytes are a length then
// the bytes. All tables are sorted, so equal documents encode equally.
//
//	version   byte (1)
//	strings   count, then per string: bytes      writer IDs and field names
//	vv        count, then per writer: index, timestamp
//	removed   count, then per dot: dot
//	docFields count, then per write: dot, field index, value bytes
//	elements  count, then per key: shared prefix length with the previous
//	          key, suffix bytes, entry count, then per entry:
//	          dot, field reference (0 presence, i+1 string i), [value bytes]
//	log       count, then per op: dot, kind byte, [key bytes]
//	          [field index, value bytes], removes count, dots
//	checksum  CRC-32C (Castagnoli) of all the above, 4 bytes little-endian
//
// docFields and elements hold only snapshot entries; log entries are
// rebuilt by replaying the log.
const encodingVersion = 1

// ErrCorrupt is wrapped by every Decode error.
var ErrCorrupt = errors.New("crdt: corrupt document")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the canonical binary form of d.
func (d *Doc) Encode() []byte {
	st := d.stringTable()
	idx := make(map[string]uint64, len(st))
	for i, s := range st {
		idx[s] = uint64(i)
	}
	var e encoder
	e.b = append(e.b, encodingVersion)
	e.uvarint(uint64(len(st)))
	for _, s := range st {
		e.str(s)
	}

	writers := sortedMapKeys(d.vv)
	e.uvarint(uint64(len(writers)))
	for _, w := range writers {
		e.uvarint(idx[w])
		e.uvarint(uint64(d.vv[w]))
	}

	removed := make([]OpID, 0, len(d.removed))
	for dot := range d.removed {
		removed = append(removed, dot)
	}
	slices.SortFunc(removed, OpID.Compare)
	e.uvarint(uint64(len(removed)))
	for _, dot := range removed {
		e.dot(idx, dot)
	}

	df := d.appendSnapshotEntries(nil, d.docFields)
	e.uvarint(uint64(len(df)))
	for _, x := range df {
		e.dot(idx, x.dot)
		e.uvarint(idx[x.field])
		e.bytes(x.value)
	}

	keys := d.sortedKeys()
	nsnap := 0
	for _, k := range keys {
		if d.hasSnapshotEntry(d.elems[k]) {
			nsnap++
		}
	}
	e.uvarint(uint64(nsnap))
	prev := ""
	var scratch []entry
	for _, k := range keys {
		if !d.hasSnapshotEntry(d.elems[k]) {
			continue
		}
		shared := commonPrefix(prev, k)
		e.uvarint(uint64(shared))
		e.str(k[shared:])
		prev = k
		scratch = d.appendSnapshotEntries(scratch[:0], d.elems[k])
		e.uvarint(uint64(len(scratch)))
		for _, en := range scratch {
			e.dot(idx, en.dot)
			if !en.isField {
				e.uvarint(0)
				continue
			}
			e.uvarint(idx[en.field] + 1)
			e.bytes(en.value)
		}
	}

	ops := make([]*op, 0, len(d.log))
	for _, o := range d.log {
		ops = append(ops, o)
	}
	slices.SortFunc(ops, func(a, b *op) int { return a.id.Compare(b.id) })
	e.uvarint(uint64(len(ops)))
	for _, o := range ops {
		e.dot(idx, o.id)
		e.b = append(e.b, byte(o.kind))
		if o.kind != opSetDoc {
			e.str(o.key)
		}
		if o.kind == opSet || o.kind == opSetDoc {
			e.uvarint(idx[o.field])
			e.bytes(o.value)
		}
		e.uvarint(uint64(len(o.removes)))
		for _, r := range o.removes {
			e.dot(idx, r)
		}
	}
	return append(e.b, castagnoliSum(e.b)...)
}

// stringTable returns the sorted writer IDs and field names d encodes.
func (d *Doc) stringTable() []string {
	set := make(map[string]struct{})
	for w := range d.vv {
		set[w] = struct{}{}
	}
	for dot := range d.removed {
		set[dot.Writer] = struct{}{}
	}
	addEntries := func(es []entry) {
		for _, e := range es {
			set[e.dot.Writer] = struct{}{}
			if e.isField {
				set[e.field] = struct{}{}
			}
		}
	}
	addEntries(d.docFields)
	for _, es := range d.elems {
		addEntries(es)
	}
	for _, o := range d.log {
		set[o.id.Writer] = struct{}{}
		if o.kind == opSet || o.kind == opSetDoc {
			set[o.field] = struct{}{}
		}
		for _, r := range o.removes {
			set[r.Writer] = struct{}{}
		}
	}
	return sortedMapKeys(set)
}

// appendSnapshotEntries appends to out the entries of es that no logged
// op recreates, sorted by dot.
func (d *Doc) appendSnapshotEntries(out, es []entry) []entry {
	n := len(out)
	for _, e := range es {
		if _, inLog := d.log[e.dot]; !inLog {
			out = append(out, e)
		}
	}
	if len(out)-n > 1 {
		slices.SortFunc(out[n:], func(a, b entry) int { return a.dot.Compare(b.dot) })
	}
	return out
}

// hasSnapshotEntry reports whether some entry of es is not recreated by a
// logged op.
func (d *Doc) hasSnapshotEntry(es []entry) bool {
	for _, e := range es {
		if _, inLog := d.log[e.dot]; !inLog {
			return true
		}
	}
	return false
}

func sortedMapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) dot(idx map[string]uint64, d OpID) {
	e.uvarint(idx[d.Writer])
	e.uvarint(uint64(d.TS))
}

// Decode parses a document written by Encode. Any malformed input —
// unknown version, bad checksum, truncation, trailing bytes, references out
// of range, an inconsistent snapshot — gives an error wrapping ErrCorrupt.
// Decode never panics and allocates at most in proportion to len(b).
func Decode(b []byte) (*Doc, error) {
	if len(b) < 1+4 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if body[0] != encodingVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, body[0])
	}
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return decodeBody(body[1:])
}

// decodeBody parses the body of an encoding (after the version byte,
// without the checksum). Values alias a private copy of b.
func decodeBody(b []byte) (*Doc, error) {
	r := &decoder{b: slices.Clone(b)}
	d := New()

	st := make([]string, r.count())
	for i := range st {
		st[i] = string(r.bytes())
	}
	r.strs = st

	for n := r.count(); n > 0 && r.err == nil; n-- {
		w := r.str()
		ts := Timestamp(r.uvarint())
		if ts > d.vv[w] {
			d.vv[w] = ts
		}
		d.bump(OpID{TS: ts, Writer: w})
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		dot := r.dot()
		d.bump(dot)
		if !d.covered(dot) {
			d.removed[dot] = struct{}{}
		}
	}

	dots := make(map[OpID]struct{})
	snapshot := func(dot OpID) {
		if _, dup := dots[dot]; dup {
			r.fail("duplicate snapshot entry %v", dot)
		}
		if !d.covered(dot) {
			r.fail("snapshot entry %v above version vector", dot)
		}
		dots[dot] = struct{}{}
		d.bump(dot)
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		e := entry{dot: r.dot(), isField: true, field: r.str(), value: r.bytes()}
		snapshot(e.dot)
		d.docFields = append(d.docFields, e)
	}
	prev, first := "", true
	nelems := r.count()
	d.elems = make(map[string][]entry, nelems)
	d.where = make(map[OpID]string, nelems)
	for n := nelems; n > 0 && r.err == nil; n-- {
		shared := r.uvarint()
		if shared > uint64(len(prev)) {
			r.fail("key prefix %d longer than previous key", shared)
			break
		}
		key := prev[:shared] + string(r.bytes())
		if !first && key <= prev {
			r.fail("keys out of order")
		}
		prev, first = key, false
		m := r.count()
		if m == 0 {
			r.fail("key %q without entries", key)
		}
		for ; m > 0 && r.err == nil; m-- {
			e := entry{dot: r.dot()}
			if ref := r.uvarint(); ref > 0 {
				e.isField, e.field, e.value = true, r.strAt(ref-1), r.bytes()
			}
			snapshot(e.dot)
			if r.err == nil {
				d.insert(key, e)
			}
		}
	}

	for n := r.count(); n > 0 && r.err == nil; n-- {
		o := &op{id: r.dot(), kind: opKind(r.byte())}
		switch o.kind {
		case opAdd, opRemove:
			o.key = string(r.bytes())
		case opSet:
			o.key, o.field, o.value = string(r.bytes()), r.str(), r.bytes()
		case opSetDoc:
			o.field, o.value = r.str(), r.bytes()
		default:
			r.fail("unknown op kind %d", o.kind)
		}
		if m := r.count(); m > 0 {
			o.removes = make([]OpID, m)
			for i := range o.removes {
				o.removes[i] = r.dot()
			}
		}
		if r.err == nil {
			d.apply(o)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return d, nil
}

// A decoder reads the encoding; the first error sticks and every later
// read returns zero values.
type decoder struct {
	b    []byte
	strs []string
	err  error
}

func (r *decoder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

func (r *decoder) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *decoder) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count reads a number of items that each take at least one byte, so it
// cannot exceed the bytes left; this bounds every allocation by the input.
func (r *decoder) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.fail("count %d exceeds %d bytes left", v, len(r.b))
		return 0
	}
	return int(v)
}

func (r *decoder) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("length %d exceeds %d bytes left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *decoder) strAt(i uint64) string {
	if r.err != nil {
		return ""
	}
	if i >= uint64(len(r.strs)) {
		r.fail("string index %d out of range", i)
		return ""
	}
	return r.strs[i]
}

func (r *decoder) str() string { return r.strAt(r.uvarint()) }

func (r *decoder) dot() OpID {
	w := r.str()
	return OpID{TS: Timestamp(r.uvarint()), Writer: w}
}

// castagnoliSum returns the 4-byte checksum Encode appends to b.
func castagnoliSum(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(nil, crc32.Checksum(b, castagnoli))
}
