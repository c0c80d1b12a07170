package crdt

import (
	"fmt"
	"testing"
)

// bigDoc returns a document of n privacy-list-like elements written by one
// writer and compacted, as a long-lived ignore list would be stored.
func bigDoc(n int) (*Doc, *Writer) {
	d, w := New(), NewWriter("node1", NewHLC(nil))
	for i := range n {
		d.Set(w, fmt.Sprintf("list/ignore/item/user%06d@example.net", i), "action", []byte("deny"))
	}
	d.CompactBefore(d.MaxTimestamp())
	return d, w
}

func BenchmarkApply(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("elements=%d", n), func(b *testing.B) {
			d, w := bigDoc(n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				key := fmt.Sprintf("list/ignore/item/new%d@example.net", i%64)
				if i%2 == 0 {
					d.Set(w, key, "action", []byte("deny"))
				} else {
					d.Remove(w, key)
				}
				if d.LogLen() > 256 {
					d.CompactBefore(d.MaxTimestamp())
				}
			}
		})
	}
}

func BenchmarkEncode10k(b *testing.B) {
	d, _ := bigDoc(10_000)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(d.Encode())
	}
	b.ReportMetric(float64(n), "bytes/doc")
}

func BenchmarkDecode10k(b *testing.B) {
	d, _ := bigDoc(10_000)
	enc := d.Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeSiblings merges two siblings of a 10,000-element document
// that each made 10 changes after a common snapshot: the read path after
// a concurrent write.
func BenchmarkMergeSiblings(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("elements=%d", n), func(b *testing.B) {
			base, _ := bigDoc(n)
			x, y := base.Clone(), base.Clone()
			wx, wy := NewWriter("node2", NewHLC(nil)), NewWriter("node3", NewHLC(nil))
			for i := range 10 {
				x.Set(wx, fmt.Sprintf("list/ignore/item/x%d", i), "action", []byte("deny"))
				y.Remove(wy, fmt.Sprintf("list/ignore/item/user%06d@example.net", i))
			}
			ex, ey := x.Encode(), y.Encode()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load([][]byte{ex, ey}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
