package crdt

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The property tests run replicas that make random operations, publish
// their documents as siblings, merge siblings old and new in random
// orders and compact at random points. A reference model — the plain set
// of operations each replica has heard of, evaluated naively — says what
// every replica's state must be after each step.

// knowledge is the set of operations a document has heard of.
type knowledge map[OpID]bool

// specDump evaluates the operations in k straight from the semantics in the
// package comment and renders the state like dump.
func specDump(all map[OpID]*op, k knowledge) string {
	superseded := make(map[OpID]bool)
	for id := range k {
		for _, r := range all[id].removes {
			superseded[r] = true
		}
	}
	type write struct {
		id    OpID
		value []byte
	}
	present := make(map[string]bool)
	fields := make(map[string]map[string]write)
	docFields := make(map[string]write)
	better := func(m map[string]write, f string, w write) {
		if old, ok := m[f]; !ok || w.id.Compare(old.id) > 0 {
			m[f] = w
		}
	}
	for id := range k {
		o := all[id]
		if superseded[id] {
			continue
		}
		switch o.kind {
		case opAdd:
			present[o.key] = true
		case opSet:
			present[o.key] = true
			if fields[o.key] == nil {
				fields[o.key] = make(map[string]write)
			}
			better(fields[o.key], o.field, write{id, o.value})
		case opSetDoc:
			better(docFields, o.field, write{id, o.value})
		}
	}
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(present)) {
		var parts []string
		for _, f := range slices.Sorted(maps.Keys(fields[key])) {
			parts = append(parts, f+"="+string(fields[key][f].value))
		}
		fmt.Fprintf(&b, "%s{%s} ", key, strings.Join(parts, ","))
	}
	b.WriteString("|")
	for _, f := range slices.Sorted(maps.Keys(docFields)) {
		fmt.Fprintf(&b, " %s=%s", f, docFields[f].value)
	}
	return b.String()
}

type replica struct {
	time   *fakeTime
	w      *Writer
	doc    *Doc
	know   knowledge
	recent []OpID // ops made here, for deltas
}

type sibling struct {
	enc  []byte
	know knowledge
}

// world is one random history.
type world struct {
	all      map[OpID]*op
	replicas []*replica
	pool     []sibling
}

var (
	propKeys   = []string{"k0", "k1", "k2", "k3"}
	propFields = []string{"f", "g"}
)

func decodeOrFail(t *rapid.T, b []byte) *Doc {
	d, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(doc)) = %v", err)
	}
	return d
}

// check asserts that r's state is what the reference model says.
func (w *world) check(t *rapid.T, r *replica, step string) {
	if got, want := dump(r.doc), specDump(w.all, r.know); got != want {
		t.Fatalf("after %s on %s:\n got  %q\n want %q", step, r.w.ID(), got, want)
	}
}

// safeCutoff lowers cutoff so that compacting a document that has heard of
// know keeps the per-writer order assumption (package comment): no writer's
// version vector may rise to or past one of its operations the document
// has not heard of. Documents built from whole siblings always hold a
// prefix of each writer's operations and are never limited; one that
// merged a delta without the writer's earlier operations is, until those
// arrive — in a store, CompactPolicy.MinAge plays this part.
func (w *world) safeCutoff(know knowledge, cutoff Timestamp) Timestamp {
	gap := map[string]Timestamp{} // oldest unheard op per writer
	for id := range w.all {
		if !know[id] {
			if g, ok := gap[id.Writer]; !ok || id.TS < g {
				gap[id.Writer] = id.TS
			}
		}
	}
	for id := range know {
		if g, ok := gap[id.Writer]; ok && id.TS > g && id.TS <= cutoff {
			cutoff = id.TS - 1
		}
	}
	return cutoff
}

// runWorld plays a random history, checking every replica against the
// model after every step.
func runWorld(t *rapid.T) *world {
	w := &world{all: make(map[OpID]*op)}
	n := rapid.IntRange(2, 4).Draw(t, "replicas")
	for i := range n {
		ft := newFakeTime()
		ft.Add(time.Duration(rapid.IntRange(0, 3).Draw(t, "skew")) * time.Millisecond)
		w.replicas = append(w.replicas, &replica{
			time: ft,
			w:    NewWriter(fmt.Sprint("r", i), NewHLC(ft.Now)),
			doc:  New(),
			know: knowledge{},
		})
	}
	steps := rapid.IntRange(1, 80).Draw(t, "steps")
	for range steps {
		r := rapid.SampledFrom(w.replicas).Draw(t, "replica")
		r.time.Add(time.Duration(rapid.IntRange(0, 1).Draw(t, "tick")) * time.Millisecond)
		switch action := rapid.IntRange(0, 10).Draw(t, "action"); action {
		case 0, 1, 2, 3:
			pre := r.doc.Clone()
			key := rapid.SampledFrom(propKeys).Draw(t, "key")
			field := rapid.SampledFrom(propFields).Draw(t, "field")
			value := []byte(fmt.Sprint(rapid.IntRange(0, 9).Draw(t, "value")))
			var id OpID
			switch action {
			case 0:
				id = r.doc.Add(r.w, key)
			case 1:
				var ok bool
				if id, ok = r.doc.Remove(r.w, key); !ok {
					continue
				}
			case 2:
				id = r.doc.Set(r.w, key, field, value)
			case 3:
				id = r.doc.SetDoc(r.w, field, value)
			}
			o, ok := r.doc.log[id]
			if !ok {
				t.Fatalf("new op %v not in the log", id)
			}
			w.all[id] = o
			r.know[id] = true
			w.check(t, r, "op")
			// Merging the op's delta into the document it was made on
			// is making the op there.
			delta, err := r.doc.Delta(id)
			if err != nil {
				t.Fatal(err)
			}
			viaDelta := pre.Clone()
			viaDelta.Merge(decodeOrFail(t, delta.Encode()))
			if !bytes.Equal(viaDelta.Encode(), r.doc.Encode()) {
				t.Fatalf("base ⊔ delta(%v) = %q, the op made %q", id, dump(viaDelta), dump(r.doc))
			}
			r.recent = append(r.recent, id)
		case 10:
			// Publish the delta of some of the replica's recent ops as a
			// sibling of its own, as crdtstore.Append does.
			var ids []OpID
			for _, id := range r.recent {
				if _, ok := r.doc.log[id]; ok && rapid.Bool().Draw(t, "in delta") {
					ids = append(ids, id)
				}
			}
			if len(ids) == 0 {
				continue
			}
			delta, err := r.doc.Delta(ids...)
			if err != nil {
				t.Fatal(err)
			}
			know := knowledge{}
			for _, id := range ids {
				know[id] = true
			}
			if got, want := dump(delta), specDump(w.all, know); got != want {
				t.Fatalf("delta of %v:\n got  %q\n want %q", ids, got, want)
			}
			w.pool = append(w.pool, sibling{enc: delta.Encode(), know: know})
		case 4, 5:
			w.pool = append(w.pool, sibling{enc: r.doc.Encode(), know: maps.Clone(r.know)})
		case 6, 7:
			if len(w.pool) == 0 {
				continue
			}
			s := rapid.SampledFrom(w.pool).Draw(t, "sibling")
			r.doc.Merge(decodeOrFail(t, s.enc))
			maps.Copy(r.know, s.know)
			w.check(t, r, "merge of a sibling")
		case 8:
			other := rapid.SampledFrom(w.replicas).Draw(t, "from")
			r.doc.Merge(decodeOrFail(t, other.doc.Encode()))
			maps.Copy(r.know, other.know)
			w.check(t, r, "merge of a replica")
		case 9:
			max := uint64(r.doc.MaxTimestamp())
			cutoff := Timestamp(rapid.Uint64Range(0, max+1).Draw(t, "cutoff"))
			r.doc.CompactBefore(w.safeCutoff(r.know, cutoff))
			w.check(t, r, "compaction")
		}
	}
	return w
}

func TestPropConvergence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := runWorld(t)
		// Every replica hears of everything, in its own random order.
		union := knowledge{}
		for _, r := range w.replicas {
			maps.Copy(union, r.know)
		}
		want := specDump(w.all, union)
		var finals [][]byte
		for _, r := range w.replicas {
			sources := slices.Clone(w.pool)
			for _, o := range w.replicas {
				sources = append(sources, sibling{enc: o.doc.Encode(), know: o.know})
			}
			idx := make([]int, len(sources))
			for i := range idx {
				idx[i] = i
			}
			order := rapid.Permutation(idx).Draw(t, "order")
			d := r.doc.Clone()
			know := maps.Clone(r.know)
			for _, i := range order {
				if rapid.Bool().Draw(t, "compact") {
					d.CompactBefore(w.safeCutoff(know, d.MaxTimestamp()))
				}
				d.Merge(decodeOrFail(t, sources[i].enc))
				maps.Copy(know, sources[i].know)
			}
			if got := dump(d); got != want {
				t.Fatalf("replica %s converged to %q, want %q", r.w.ID(), got, want)
			}
			d.CompactBefore(^Timestamp(0))
			finals = append(finals, d.Encode())
		}
		for i := 1; i < len(finals); i++ {
			if !bytes.Equal(finals[i], finals[0]) {
				t.Fatalf("fully compacted replicas encode differently")
			}
		}
	})
}

// drawDoc returns some document of a random history: a replica's or an old
// sibling.
func drawDoc(t *rapid.T, w *world) *Doc {
	if len(w.pool) > 0 && rapid.Bool().Draw(t, "from pool") {
		return decodeOrFail(t, rapid.SampledFrom(w.pool).Draw(t, "sibling").enc)
	}
	return decodeOrFail(t, rapid.SampledFrom(w.replicas).Draw(t, "replica").doc.Encode())
}

func TestPropMergeLaws(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := runWorld(t)
		a, b, c := drawDoc(t, w), drawDoc(t, w), drawDoc(t, w)
		enc := func(d *Doc) string { return string(d.Encode()) }

		if got := enc(decodeOrFail(t, a.Encode())); got != enc(a) {
			t.Fatalf("Encode(Decode(Encode(a))) != Encode(a)")
		}
		if enc(Merge(a, b)) != enc(Merge(b, a)) {
			t.Fatalf("merge is not commutative:\n a⊔b %q\n b⊔a %q", dump(Merge(a, b)), dump(Merge(b, a)))
		}
		if enc(Merge(Merge(a, b), c)) != enc(Merge(a, Merge(b, c))) {
			t.Fatalf("merge is not associative")
		}
		if enc(Merge(a, decodeOrFail(t, a.Encode()))) != enc(a) {
			t.Fatalf("merge is not idempotent")
		}
		// Merge leaves its argument alone.
		before := enc(b)
		x := a.Clone()
		x.Merge(b)
		x.Add(NewWriter("z", NewHLC(nil)), "new")
		if enc(b) != before {
			t.Fatalf("Merge changed its argument")
		}
	})
}
