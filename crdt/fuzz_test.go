package crdt

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// seedDocs returns a few small encoded documents: empty, with snapshot,
// log, superseded dots and document fields.
func seedDocs() [][]byte {
	n := newTestNet("a", "b")
	a, b := n.docs["a"], n.docs["b"]
	empty := New().Encode()
	a.Set(n.ws["a"], "list/L/item/x@example.net", "action", []byte("deny"))
	a.Add(n.ws["a"], "k")
	b.Add(n.ws["b"], "k")
	a.Merge(b.Clone())
	a.Remove(n.ws["a"], "k")
	a.SetDoc(n.ws["a"], "default-list", []byte("L"))
	logged := a.Encode()
	a.CompactBefore(a.MaxTimestamp() - 1)
	half := a.Encode()
	b.Set(n.ws["b"], "k", "name", []byte("Kay"))
	return [][]byte{empty, logged, half, b.Encode()}
}

// FuzzDecode checks that Decode never panics, and that whatever decodes
// re-encodes stably. The body decoder is fuzzed directly as well, since
// random input rarely passes the checksum.
func FuzzDecode(f *testing.F) {
	for _, s := range seedDocs() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := Decode(b); err == nil {
			roundTrip(t, d)
		}
		if len(b) > 5 {
			if d, err := decodeBody(b[1 : len(b)-4]); err == nil {
				roundTrip(t, d)
			}
		}
	})
}

// roundTrip checks Encode(Decode(Encode(d))) == Encode(d).
func roundTrip(t *testing.T, d *Doc) {
	t.Helper()
	enc := d.Encode()
	d2, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode(Encode(decoded doc)) = %v", err)
	}
	if !bytes.Equal(d2.Encode(), enc) {
		t.Fatalf("encoding not stable across a round trip")
	}
}

// FuzzMerge decodes two bodies and merges them both ways: no panic, and
// the same result either way, whatever the (possibly inconsistent) input.
func FuzzMerge(f *testing.F) {
	seeds := seedDocs()
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, x, y []byte) {
		if len(x) < 5 || len(y) < 5 {
			return
		}
		a, err := decodeBody(x[1 : len(x)-4])
		if err != nil {
			return
		}
		b, err := decodeBody(y[1 : len(y)-4])
		if err != nil {
			return
		}
		ab, ba := Merge(a, b), Merge(b, a)
		if !dotsAgree(a, b) {
			// Merge laws hold for documents whose OpIDs each name one
			// operation (the Writer contract); corrupt input that reuses
			// an OpID for different content only has to be survived.
			return
		}
		if !bytes.Equal(ab.Encode(), ba.Encode()) {
			t.Fatalf("merge not commutative:\n a⊔b %q\n b⊔a %q", dump(ab), dump(ba))
		}
		if !bytes.Equal(Merge(ab, a).Encode(), ab.Encode()) {
			t.Fatalf("merge not idempotent")
		}
		ab.CompactBefore(ab.MaxTimestamp())
		w := NewWriter("fuzz", NewHLC(nil))
		ab.Add(w, "k")
		ab.Remove(w, "k")
		roundTrip(t, ab)
	})
}

func TestDecodeRejects(t *testing.T) {
	good := seedDocs()[1]
	withSum := func(body []byte) []byte {
		var e encoder
		e.b = append(e.b, body...)
		return append(e.b, castagnoliSum(e.b)...)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "empty", in: nil},
		{name: "short", in: []byte{1, 0, 0}},
		{name: "unknown version", in: withSum(append([]byte{9}, good[1:len(good)-4]...))},
		{name: "bad checksum", in: append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1)},
		{name: "truncated", in: withSum(good[:len(good)/2])},
		{name: "trailing bytes", in: withSum(append(bytes.Clone(good[:len(good)-4]), 0))},
		// A string count of 2^60 must fail without allocating.
		{name: "huge count", in: withSum([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10})},
		// One string of length 2^60.
		{name: "huge length", in: withSum([]byte{1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10})},
		// vv entry referring to string 5 of an empty table.
		{name: "string index out of range", in: withSum([]byte{1, 0, 1, 5, 1, 0, 0, 0, 0, 0})},
		// Snapshot element entry above the (empty) version vector.
		{name: "snapshot above vector", in: withSum([]byte{1, 1, 1, 'w', 0, 0, 0, 1, 0, 1, 'k', 1, 0, 7, 0, 0})},
		{name: "unknown op kind", in: withSum([]byte{1, 1, 1, 'w', 0, 0, 0, 0, 1, 0, 7, 9, 0})},
	}
	for _, tt := range tests {
		d, err := Decode(tt.in)
		t.Logf("%s: %v", tt.name, err)
		if err == nil {
			t.Errorf("%s: Decode = %q, want error", tt.name, dump(d))
		}
	}
	if _, err := Decode(good); err != nil {
		t.Errorf("Decode(good) = %v", err)
	}
}

func TestDecodeAllocationBound(t *testing.T) {
	in := []byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10}
	in = append(in, castagnoliSum(in)...)
	allocs := testing.AllocsPerRun(10, func() { _, _ = Decode(in) })
	if allocs > 20 {
		t.Errorf("Decode of a 2^60 count made %.0f allocations", allocs)
	}
}

// dotContents maps every OpID that d holds content for (live entries and
// logged ops) to a description of that content.
func dotContents(d *Doc) map[OpID]string {
	m := make(map[OpID]string)
	add := func(id OpID, desc string) bool {
		if old, ok := m[id]; ok && old != desc {
			return false
		}
		m[id] = desc
		return true
	}
	ok := true
	for key, es := range d.elems {
		for _, e := range es {
			if e.isField {
				ok = add(e.dot, fmt.Sprintf("set %q %q %q", key, e.field, e.value)) && ok
			} else {
				ok = add(e.dot, fmt.Sprintf("add %q", key)) && ok
			}
		}
	}
	for _, e := range d.docFields {
		ok = add(e.dot, fmt.Sprintf("setdoc %q %q", e.field, e.value)) && ok
	}
	for id, o := range d.log {
		var desc string
		switch o.kind {
		case opAdd:
			desc = fmt.Sprintf("add %q", o.key)
		case opSet:
			desc = fmt.Sprintf("set %q %q %q", o.key, o.field, o.value)
		case opSetDoc:
			desc = fmt.Sprintf("setdoc %q %q", o.field, o.value)
		case opRemove:
			desc = fmt.Sprintf("remove %q", o.key)
		}
		ok = add(id, desc) && ok
	}
	if !ok {
		return nil
	}
	return m
}

// dotsAgree reports whether no OpID names different content in a and b
// (or within either).
func dotsAgree(a, b *Doc) bool {
	ma, mb := dotContents(a), dotContents(b)
	if ma == nil || mb == nil {
		return false
	}
	for id, desc := range ma {
		if other, ok := mb[id]; ok && other != desc {
			return false
		}
	}
	for id, o := range a.log {
		if p, ok := b.log[id]; ok && !slices.Equal(o.removes, p.removes) {
			return false
		}
	}
	return true
}
