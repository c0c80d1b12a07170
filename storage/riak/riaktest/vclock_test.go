package riaktest

import (
	"bytes"
	"testing"
)

func TestDescends(t *testing.T) {
	tests := []struct {
		name       string
		v, w       VClock
		descends   bool
		concurrent bool
	}{
		{name: "empty descends empty", v: VClock{}, w: VClock{}, descends: true},
		{name: "anything descends empty", v: VClock{"a": 1}, w: VClock{}, descends: true},
		{name: "empty does not descend non-empty", v: VClock{}, w: VClock{"a": 1}, descends: false},
		{name: "itself", v: VClock{"a": 2, "b": 1}, w: VClock{"a": 2, "b": 1}, descends: true},
		{name: "newer", v: VClock{"a": 3, "b": 1}, w: VClock{"a": 2, "b": 1}, descends: true},
		{name: "older", v: VClock{"a": 1, "b": 1}, w: VClock{"a": 2, "b": 1}, descends: false},
		{name: "concurrent", v: VClock{"a": 2}, w: VClock{"b": 1}, descends: false, concurrent: true},
		{name: "concurrent mixed", v: VClock{"a": 2, "b": 1}, w: VClock{"a": 1, "b": 2}, descends: false, concurrent: true},
		{name: "missing actor is zero", v: VClock{"a": 1, "b": 0}, w: VClock{"a": 1}, descends: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Descends(tt.w); got != tt.descends {
				t.Errorf("%v.Descends(%v) = %v, want %v", tt.v, tt.w, got, tt.descends)
			}
			if got := tt.v.Concurrent(tt.w); got != tt.concurrent {
				t.Errorf("%v.Concurrent(%v) = %v, want %v", tt.v, tt.w, got, tt.concurrent)
			}
		})
	}
}

func TestMergeIsLeastUpperBound(t *testing.T) {
	v, w := VClock{"a": 3, "b": 1}, VClock{"b": 2, "c": 5}
	m := v.Merge(w)
	want := VClock{"a": 3, "b": 2, "c": 5}
	if m.String() != want.String() {
		t.Fatalf("Merge = %v, want %v", m, want)
	}
	if !m.Descends(v) || !m.Descends(w) {
		t.Errorf("merge %v does not descend both inputs", m)
	}
	if v.String() != "{a:3 b:1}" {
		t.Errorf("Merge changed its receiver: %v", v)
	}
}

func TestCovers(t *testing.T) {
	v := VClock{"a": 2}
	for _, tt := range []struct {
		d    Dot
		want bool
	}{
		{Dot{"a", 1}, true}, {Dot{"a", 2}, true}, {Dot{"a", 3}, false}, {Dot{"b", 1}, false}, {Dot{"a", 0}, false},
	} {
		if got := v.Covers(tt.d); got != tt.want {
			t.Errorf("%v.Covers(%v) = %v, want %v", v, tt.d, got, tt.want)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, v := range []VClock{{}, {"riaktest1@127.0.0.1": 1}, {"a": 1 << 40, "b": 7, "": 3}} {
		b := v.Encode()
		got, err := DecodeVClock(b)
		if err != nil {
			t.Fatalf("DecodeVClock(%x): %v", b, err)
		}
		if got.String() != v.String() || len(got) != len(v) {
			t.Errorf("round trip of %v gave %v", v, got)
		}
		if !bytes.Equal(got.Encode(), b) {
			t.Errorf("encoding of %v is not canonical", v)
		}
	}
	if v, err := DecodeVClock(nil); err != nil || len(v) != 0 {
		t.Errorf("DecodeVClock(nil) = %v, %v; want empty clock", v, err)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	good := VClock{"a": 1}.Encode()
	for _, b := range [][]byte{
		{0x00},                                // wrong magic
		{clockMagic},                          // no count
		{clockMagic, 5},                       // count beyond input
		good[:len(good)-1],                    // truncated counter
		append(good[:len(good):len(good)], 0), // trailing byte
	} {
		if _, err := DecodeVClock(b); err == nil {
			t.Errorf("DecodeVClock(%x) succeeded, want error", b)
		}
	}
}

func FuzzDecodeVClock(f *testing.F) {
	f.Add(VClock{"a": 1, "b": 2}.Encode())
	f.Add([]byte{clockMagic, 1, 1, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVClock(b)
		if err != nil {
			return
		}
		again, err := DecodeVClock(v.Encode())
		if err != nil || again.String() != v.String() {
			t.Fatalf("re-decoding %v gave %v, %v", v, again, err)
		}
	})
}
