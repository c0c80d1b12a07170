package crdt

import (
	"slices"
	"testing"
)

func TestRecordingWriterAndDelta(t *testing.T) {
	n := newTestNet("a")
	d, base := New(), n.ws["a"]
	for _, k := range []string{"x", "y", "z"} {
		d.Add(base, k)
	}
	if base.Stamped() != nil {
		t.Errorf("a plain writer reports stamps %v", base.Stamped())
	}
	before := d.Clone()
	rec := base.Recording()
	if rec.ID() != base.ID() || rec.Clock() != base.Clock() {
		t.Fatal("recording writer has another ID or clock")
	}
	set := d.Set(rec, "x", "name", []byte("X"))
	rm, _ := d.Remove(rec, "y")
	if _, ok := d.Remove(rec, "absent"); ok {
		t.Fatal("removed an absent key")
	}
	if got, want := rec.Stamped(), []OpID{set, rm}; !slices.Equal(got, want) {
		t.Fatalf("Stamped() = %v, want %v", got, want)
	}

	delta, err := d.Delta(rec.Stamped()...)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dump(delta), "x{name=X} |"; got != want {
		t.Errorf("delta = %q, want %q", got, want)
	}
	if delta.LogLen() != 2 {
		t.Errorf("delta logs %d ops, want 2", delta.LogLen())
	}
	// A copy that has seen only the three adds catches up by the delta.
	before.Merge(delta)
	before.Merge(delta) // idempotent
	if got, want := dump(before), dump(d); got != want {
		t.Errorf("after the delta: %q, want %q", got, want)
	}

	d.CompactBefore(d.MaxTimestamp())
	if _, err := d.Delta(set); err == nil {
		t.Error("Delta of a compacted op did not fail")
	}
}
