package crdt

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeTime is a settable time source.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeTime() *fakeTime { return &fakeTime{t: time.UnixMilli(1_700_000_000_000)} }

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestHLCNow(t *testing.T) {
	ft := newFakeTime()
	c := NewHLC(ft.Now)
	base := TimestampAt(ft.Now())

	tests := []struct {
		name    string
		advance time.Duration
		want    Timestamp
	}{
		{name: "first reading is wall time", want: base},
		{name: "same millisecond bumps logical", want: base + 1},
		{name: "again", want: base + 2},
		{name: "wall time moves on", advance: time.Millisecond, want: base + 1<<logicalBits},
		{name: "wall time goes back", advance: -time.Second, want: base + 1<<logicalBits + 1},
	}
	for _, tt := range tests {
		ft.Add(tt.advance)
		if got := c.Now(); got != tt.want {
			t.Fatalf("%s: Now() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHLCObserve(t *testing.T) {
	ft := newFakeTime()
	c := NewHLC(ft.Now)
	base := TimestampAt(ft.Now())

	ahead := base + 5<<logicalBits + 7
	if err := c.Observe(ahead); err != nil {
		t.Fatalf("Observe(%v) = %v", ahead, err)
	}
	if got := c.Now(); got != ahead+1 {
		t.Fatalf("Now() after Observe = %v, want %v", got, ahead+1)
	}
	if err := c.Observe(base); err != nil {
		t.Fatalf("Observe(past) = %v", err)
	}
	if got := c.Now(); got != ahead+2 {
		t.Fatalf("Now() after observing the past = %v, want %v", got, ahead+2)
	}

	far := TimestampAt(ft.Now().Add(2 * DefaultMaxDrift))
	if err := c.Observe(far); !errors.Is(err, ErrClockDrift) {
		t.Fatalf("Observe(far future) = %v, want ErrClockDrift", err)
	}
	if got := c.Now(); got >= far {
		t.Fatalf("Now() = %v adopted a refused timestamp", got)
	}
	c.SetMaxDrift(0)
	if err := c.Observe(far); err != nil {
		t.Fatalf("Observe(far) without drift limit = %v", err)
	}
	if got := c.Now(); got != far+1 {
		t.Fatalf("Now() = %v, want %v", got, far+1)
	}
}

func TestHLCConcurrentUnique(t *testing.T) {
	c := NewHLC(nil)
	const goroutines, each = 8, 2000
	var mu sync.Mutex
	seen := make(map[Timestamp]bool)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]Timestamp, 0, each)
			prev := Timestamp(0)
			for range each {
				ts := c.Now()
				if ts <= prev {
					t.Errorf("Now() = %v after %v: not monotonic", ts, prev)
					return
				}
				prev = ts
				local = append(local, ts)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ts := range local {
				if seen[ts] {
					t.Errorf("timestamp %v issued twice", ts)
				}
				seen[ts] = true
			}
		}()
	}
	wg.Wait()
}

func TestOpIDCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b OpID
		want int
	}{
		{name: "timestamp first", a: OpID{1, "z"}, b: OpID{2, "a"}, want: -1},
		{name: "writer breaks ties", a: OpID{2, "b"}, b: OpID{2, "a"}, want: 1},
		{name: "equal", a: OpID{2, "a"}, b: OpID{2, "a"}, want: 0},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%s: %v.Compare(%v) = %d, want %d", tt.name, tt.a, tt.b, got, tt.want)
		}
	}
}
