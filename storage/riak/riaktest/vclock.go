package riaktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// A VClock is a vector clock: for each actor (a node of the test cluster,
// as a vnode is in Riak) the number of events it has coordinated. A missing
// actor counts as zero. The zero value is the empty clock.
type VClock map[string]uint64

// Descends reports whether v has seen every event that w has seen
// (v ≥ w pointwise). Every clock descends the empty clock, and a clock
// descends itself.
func (v VClock) Descends(w VClock) bool {
	for actor, n := range w {
		if v[actor] < n {
			return false
		}
	}
	return true
}

// Concurrent reports whether neither clock descends the other.
func (v VClock) Concurrent(w VClock) bool { return !v.Descends(w) && !w.Descends(v) }

// Covers reports whether v has seen the event d.
func (v VClock) Covers(d Dot) bool { return d.Counter != 0 && v[d.Actor] >= d.Counter }

// Merge returns the pointwise maximum of v and w: the clock that has seen
// exactly what either has seen. Neither argument is changed.
func (v VClock) Merge(w VClock) VClock {
	out := make(VClock, len(v)+len(w))
	for a, n := range v {
		out[a] = n
	}
	for a, n := range w {
		if n > out[a] {
			out[a] = n
		}
	}
	return out
}

// String formats v as "{a:1 b:2}" with actors sorted, for test failures.
func (v VClock) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range v.actors() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", a, v[a])
	}
	b.WriteByte('}')
	return b.String()
}

func (v VClock) actors() []string {
	out := make([]string, 0, len(v))
	for a := range v {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// clockMagic starts every encoded clock, so that a client that sends back
// something it did not get from the server is told so instead of having its
// bytes read as a clock.
const clockMagic = 0xd7

// Encode returns the opaque wire form of v, the bytes a client sees as the
// vclock of an object. Equal clocks encode equally.
func (v VClock) Encode() []byte {
	buf := []byte{clockMagic}
	buf = binary.AppendUvarint(buf, uint64(len(v)))
	for _, a := range v.actors() {
		buf = binary.AppendUvarint(buf, uint64(len(a)))
		buf = append(buf, a...)
		buf = binary.AppendUvarint(buf, v[a])
	}
	return buf
}

var errBadClock = errors.New("riaktest: malformed vclock")

// DecodeVClock parses the output of Encode. Empty input is the empty clock.
func DecodeVClock(b []byte) (VClock, error) {
	if len(b) == 0 {
		return VClock{}, nil
	}
	if b[0] != clockMagic {
		return nil, errBadClock
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errBadClock
	}
	b = b[k:]
	v := make(VClock, n)
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errBadClock
		}
		b = b[k:]
		actor := string(b[:l])
		b = b[l:]
		c, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errBadClock
		}
		b = b[k:]
		v[actor] = c
	}
	if len(b) != 0 {
		return nil, errBadClock
	}
	return v, nil
}

// A Dot names one write event: the actor that coordinated it and that
// actor's counter after it. With dotted version vectors (Riak's
// dvv_enabled) every sibling carries the dot of the write that made it, so
// that a put is judged against each sibling separately.
type Dot struct {
	Actor   string
	Counter uint64
}
