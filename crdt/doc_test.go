package crdt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// dump renders the materialised state of d: present keys with their field
// values, then document fields. Equal states dump equally.
func dump(d *Doc) string {
	var b strings.Builder
	for _, k := range d.Keys() {
		fields, _ := d.Get(k)
		names := sortedMapKeys(fields)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + "=" + string(fields[n])
		}
		fmt.Fprintf(&b, "%s{%s} ", k, strings.Join(parts, ","))
	}
	b.WriteString("|")
	var names []string
	for _, e := range d.docFields {
		names = append(names, e.field)
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		v, _ := d.DocField(n)
		fmt.Fprintf(&b, " %s=%s", n, v)
	}
	return b.String()
}

// testNet is a few replicas, each with its own writer, sharing a fake time.
type testNet struct {
	time *fakeTime
	docs map[string]*Doc
	ws   map[string]*Writer
}

func newTestNet(names ...string) *testNet {
	n := &testNet{time: newFakeTime(), docs: map[string]*Doc{}, ws: map[string]*Writer{}}
	for _, name := range names {
		n.docs[name] = New()
		n.ws[name] = NewWriter(name, NewHLC(n.time.Now))
	}
	return n
}

// sync merges the document of replica from into replica to, through the
// encoding, as a store round trip would.
func (n *testNet) sync(t *testing.T, from, to string) {
	t.Helper()
	x, err := Decode(n.docs[from].Encode())
	if err != nil {
		t.Fatalf("Decode(Encode(%s)) = %v", from, err)
	}
	n.docs[to].Merge(x)
}

func TestDocSemantics(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, n *testNet)
		want string // dump of replica "a"
	}{
		{
			name: "add",
			run:  func(t *testing.T, n *testNet) { n.docs["a"].Add(n.ws["a"], "k") },
			want: "k{} |",
		},
		{
			name: "set counts as add",
			run: func(t *testing.T, n *testNet) {
				n.docs["a"].Set(n.ws["a"], "k", "name", []byte("Kay"))
			},
			want: "k{name=Kay} |",
		},
		{
			name: "add keeps fields",
			run: func(t *testing.T, n *testNet) {
				a, w := n.docs["a"], n.ws["a"]
				a.Set(w, "k", "name", []byte("Kay"))
				a.Add(w, "k")
			},
			want: "k{name=Kay} |",
		},
		{
			name: "remove",
			run: func(t *testing.T, n *testNet) {
				a, w := n.docs["a"], n.ws["a"]
				a.Set(w, "k", "name", []byte("Kay"))
				a.Add(w, "j")
				a.Remove(w, "k")
			},
			want: "j{} |",
		},
		{
			name: "re-add after remove starts without fields",
			run: func(t *testing.T, n *testNet) {
				a, w := n.docs["a"], n.ws["a"]
				a.Set(w, "k", "name", []byte("Kay"))
				a.Remove(w, "k")
				a.Add(w, "k")
			},
			want: "k{} |",
		},
		{
			name: "set on removed element recreates it with that field",
			run: func(t *testing.T, n *testNet) {
				a, w := n.docs["a"], n.ws["a"]
				a.Set(w, "k", "name", []byte("Kay"))
				a.Set(w, "k", "note", []byte("old"))
				a.Remove(w, "k")
				a.Set(w, "k", "note", []byte("new"))
			},
			want: "k{note=new} |",
		},
		{
			name: "sequential sets overwrite",
			run: func(t *testing.T, n *testNet) {
				a, w := n.docs["a"], n.ws["a"]
				a.Set(w, "k", "name", []byte("one"))
				a.Set(w, "k", "name", []byte("two"))
			},
			want: "k{name=two} |",
		},
		{
			name: "concurrent add wins over remove",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Add(n.ws["b"], "k")
				n.sync(t, "b", "a")
				n.docs["a"].Remove(n.ws["a"], "k") // observed b's first add
				n.docs["b"].Add(n.ws["b"], "k")    // concurrent re-add
				n.sync(t, "b", "a")
			},
			want: "k{} |",
		},
		{
			name: "concurrent set survives remove, other fields do not",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Set(n.ws["b"], "k", "name", []byte("Kay"))
				n.sync(t, "b", "a")
				n.docs["a"].Remove(n.ws["a"], "k")
				n.docs["b"].Set(n.ws["b"], "k", "note", []byte("hi"))
				n.sync(t, "b", "a")
			},
			want: "k{note=hi} |",
		},
		{
			name: "observed remove removes",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Add(n.ws["b"], "k")
				n.sync(t, "b", "a")
				n.docs["a"].Remove(n.ws["a"], "k")
				n.sync(t, "a", "b")
				n.sync(t, "b", "a")
			},
			want: "|",
		},
		{
			name: "remove does not touch unobserved adds of other keys",
			run: func(t *testing.T, n *testNet) {
				n.docs["a"].Add(n.ws["a"], "k")
				n.docs["b"].Add(n.ws["b"], "j")
				n.docs["a"].Remove(n.ws["a"], "k")
				n.sync(t, "b", "a")
			},
			want: "j{} |",
		},
		{
			name: "concurrent sets: later timestamp wins",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Set(n.ws["b"], "k", "name", []byte("from-b"))
				n.time.Add(time.Millisecond)
				n.docs["a"].Set(n.ws["a"], "k", "name", []byte("from-a"))
				n.sync(t, "b", "a")
			},
			want: "k{name=from-a} |",
		},
		{
			name: "concurrent sets at equal timestamps: greater writer wins",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Set(n.ws["b"], "k", "name", []byte("from-b"))
				n.docs["a"].Set(n.ws["a"], "k", "name", []byte("from-a"))
				n.sync(t, "b", "a")
			},
			want: "k{name=from-b} |",
		},
		{
			name: "a set that saw a concurrent pair supersedes both",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Set(n.ws["b"], "k", "name", []byte("from-b"))
				n.docs["a"].Set(n.ws["a"], "k", "name", []byte("from-a"))
				n.sync(t, "b", "a")
				n.docs["a"].Set(n.ws["a"], "k", "name", []byte("final"))
				if got := len(n.docs["a"].elems["k"]); got != 1 {
					t.Errorf("live writes of k = %d, want 1", got)
				}
			},
			want: "k{name=final} |",
		},
		{
			name: "document fields are last writer wins",
			run: func(t *testing.T, n *testNet) {
				n.docs["a"].SetDoc(n.ws["a"], "default-list", []byte("one"))
				n.time.Add(time.Millisecond)
				n.docs["b"].SetDoc(n.ws["b"], "default-list", []byte("two"))
				n.sync(t, "a", "b")
				n.sync(t, "b", "a")
			},
			want: "| default-list=two",
		},
		{
			name: "merging twice is merging once",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Set(n.ws["b"], "k", "name", []byte("Kay"))
				n.sync(t, "b", "a")
				n.docs["a"].Remove(n.ws["a"], "k")
				n.sync(t, "b", "a")
				n.sync(t, "b", "a")
			},
			want: "|",
		},
		{
			name: "compacted remove kills the add in an old sibling",
			run: func(t *testing.T, n *testNet) {
				n.docs["b"].Set(n.ws["b"], "k", "name", []byte("Kay"))
				n.sync(t, "b", "a")
				n.docs["a"].Remove(n.ws["a"], "k")
				n.docs["a"].CompactBefore(^Timestamp(0))
				if n.docs["a"].LogLen() != 0 || len(n.docs["a"].removed) != 0 {
					t.Errorf("compaction left log %d, removed %d", n.docs["a"].LogLen(), len(n.docs["a"].removed))
				}
				n.sync(t, "b", "a") // b still holds the add
			},
			want: "|",
		},
		{
			name: "compacted doc keeps an unseen add of an old sibling",
			run: func(t *testing.T, n *testNet) {
				n.docs["a"].Add(n.ws["a"], "k")
				n.sync(t, "a", "b")
				n.docs["b"].Add(n.ws["b"], "j") // not seen by a
				n.docs["a"].Remove(n.ws["a"], "k")
				n.docs["a"].CompactBefore(^Timestamp(0))
				n.sync(t, "b", "a")
			},
			want: "j{} |",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNet("a", "b")
			tt.run(t, n)
			if got := dump(n.docs["a"]); got != tt.want {
				t.Errorf("state = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRemoveAbsent(t *testing.T) {
	d, w := New(), NewWriter("a", NewHLC(nil))
	if id, ok := d.Remove(w, "nobody"); ok || !id.IsZero() {
		t.Errorf("Remove(absent) = %v, %v; want zero, false", id, ok)
	}
	if d.LogLen() != 0 {
		t.Errorf("LogLen() = %d after removing an absent key, want 0", d.LogLen())
	}
}

func TestSetCopiesValue(t *testing.T) {
	d, w := New(), NewWriter("a", NewHLC(nil))
	v := []byte("Kay")
	d.Set(w, "k", "name", v)
	v[0] = 'X'
	if got, _ := d.Field("k", "name"); string(got) != "Kay" {
		t.Errorf("Field = %q after caller changed its slice, want %q", got, "Kay")
	}
}

func TestKeys(t *testing.T) {
	d, w := New(), NewWriter("a", NewHLC(nil))
	for _, k := range []string{"list/b/item/2", "list/a/item/1", "x", "list/a/item/0"} {
		d.Add(w, k)
	}
	if got, want := d.Keys(), []string{"list/a/item/0", "list/a/item/1", "list/b/item/2", "x"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
	if got, want := d.KeysWithPrefix("list/a/"), []string{"list/a/item/0", "list/a/item/1"}; !slices.Equal(got, want) {
		t.Errorf("KeysWithPrefix(list/a/) = %q, want %q", got, want)
	}
	d.Remove(w, "list/a/item/0")
	if got, want := d.KeysWithPrefix("list/a/"), []string{"list/a/item/1"}; !slices.Equal(got, want) {
		t.Errorf("KeysWithPrefix after remove = %q, want %q", got, want)
	}
	if got := d.KeysWithPrefix("zzz"); len(got) != 0 {
		t.Errorf("KeysWithPrefix(zzz) = %q, want none", got)
	}
}

func TestStampAboveOwnOps(t *testing.T) {
	// A writer whose clock went back a day (a restart with a bad clock)
	// must still stamp above its own earlier operations in the document.
	ft := newFakeTime()
	d := New()
	first := d.Add(NewWriter("a", NewHLC(ft.Now)), "k")
	ft.Add(-24 * time.Hour)
	c := NewHLC(ft.Now)
	c.SetMaxDrift(time.Second)
	w := NewWriter("a", c)
	id := d.Add(w, "j")
	if id.TS <= first.TS {
		t.Errorf("stamp %v not above the writer's earlier operation", id)
	}
	if !d.Has("j") || !d.Has("k") {
		t.Errorf("state = %q, want j and k", dump(d))
	}
}

func TestLoad(t *testing.T) {
	n := newTestNet("a", "b")
	n.docs["a"].Set(n.ws["a"], "k", "name", []byte("A"))
	n.docs["b"].Add(n.ws["b"], "j")
	d, err := Load([][]byte{n.docs["a"].Encode(), n.docs["b"].Encode()})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if got, want := dump(d), "j{} k{name=A} |"; got != want {
		t.Errorf("Load state = %q, want %q", got, want)
	}
	if d, err := Load(nil); err != nil || d.Len() != 0 {
		t.Errorf("Load(nil) = %v, %v; want empty doc", d, err)
	}
	if _, err := Load([][]byte{n.docs["a"].Encode(), []byte("garbage")}); err == nil || !strings.Contains(err.Error(), "sibling 2 of 2") {
		t.Errorf("Load(with garbage) = %v, want error naming sibling 2", err)
	}
}

func TestCompactPolicy(t *testing.T) {
	ft := newFakeTime()
	d, w := New(), NewWriter("a", NewHLC(ft.Now))
	for i := range 10 {
		d.Add(w, fmt.Sprint("old", i))
	}
	ft.Add(2 * time.Hour)
	for i := range 10 {
		d.Add(w, fmt.Sprint("young", i))
	}
	if got := d.Compact(CompactPolicy{MaxLog: 50}, ft.Now()); got != 0 {
		t.Errorf("Compact under the bound folded %d ops", got)
	}
	if got := d.Compact(CompactPolicy{MaxLog: 5}, ft.Now()); got != 10 {
		t.Errorf("Compact folded %d ops, want the 10 older than an hour", got)
	}
	if got := d.LogLen(); got != 10 {
		t.Errorf("LogLen() = %d after compaction, want 10", got)
	}
	if got := d.Compact(CompactPolicy{MaxLog: 5, MinAge: -1}, ft.Now()); got != 10 {
		t.Errorf("Compact without age limit folded %d, want 10", got)
	}
	if d.Len() != 20 || d.LogLen() != 0 {
		t.Errorf("after compaction Len = %d, LogLen = %d; want 20, 0", d.Len(), d.LogLen())
	}
	if err := (CompactPolicy{MaxLog: -1}).Validate(); err == nil {
		t.Error("Validate accepted a negative MaxLog")
	}
}
