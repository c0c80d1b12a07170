package auth

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var ip1 = netip.MustParseAddr("192.0.2.1")

func TestThrottleGrowsAndCaps(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(3, clk.now)
	want := []time.Duration{0, 0, 0, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := th.Delay(ip1); got != w {
			t.Fatalf("after %d failures Delay = %v, want %v", i, got, w)
		}
		th.Failure(ip1)
		clk.advance(time.Second)
	}
	if n := len(th.entries[throttleKey(ip1)]); n > 3+throttleSteps {
		t.Errorf("entry holds %d timestamps, want at most %d", n, 3+throttleSteps)
	}
	if got := th.Delay(netip.MustParseAddr("192.0.2.2")); got != 0 {
		t.Errorf("another address is delayed %v", got)
	}
}

func TestThrottleSlidingWindow(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(10, clk.now)
	for range 5 {
		th.Failure(ip1)
	}
	clk.advance(30 * time.Second)
	for range 5 {
		th.Failure(ip1)
	}
	clk.advance(time.Second)
	if got := th.Delay(ip1); got != throttleBase {
		t.Fatalf("10 failures in 31s: Delay = %v, want %v", got, throttleBase)
	}
	clk.advance(29 * time.Second) // the first five are now exactly a minute old
	if got := th.Delay(ip1); got != 0 {
		t.Fatalf("5 failures within the minute: Delay = %v, want 0", got)
	}
	clk.advance(31 * time.Second)
	if got := th.Delay(ip1); got != 0 {
		t.Fatalf("no failure within the minute: Delay = %v, want 0", got)
	}
}

func TestThrottleSuccessResets(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(2, clk.now)
	for range 4 {
		th.Failure(ip1)
	}
	if th.Delay(ip1) == 0 {
		t.Fatal("not delayed after 4 failures with a limit of 2")
	}
	th.Success(ip1)
	if got := th.Delay(ip1); got != 0 {
		t.Fatalf("after Success Delay = %v, want 0", got)
	}
	if len(th.entries) != 0 {
		t.Errorf("Success left %d entries", len(th.entries))
	}
}

func TestThrottleAddressGrouping(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{a: "192.0.2.1", b: "192.0.2.2", same: false},
		{a: "192.0.2.1", b: "::ffff:192.0.2.1", same: true},
		{a: "2001:db8::1", b: "2001:db8::ffff:2", same: true},
		{a: "2001:db8::1", b: "2001:db8:0:1::1", same: false},
		{a: "fe80::1%eth0", b: "fe80::2%eth1", same: true},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			th := NewThrottle(1, newFakeClock().now)
			th.Failure(netip.MustParseAddr(tt.a))
			delayed := th.Delay(netip.MustParseAddr(tt.b)) > 0
			if delayed != tt.same {
				t.Errorf("failure from %s delays %s: %v, want %v", tt.a, tt.b, delayed, tt.same)
			}
		})
	}
}

func TestThrottleMinimumLimit(t *testing.T) {
	th := NewThrottle(0, newFakeClock().now)
	if th.Delay(ip1) != 0 {
		t.Fatal("delayed before any failure")
	}
	th.Failure(ip1)
	if th.Delay(ip1) != throttleBase {
		t.Fatalf("perMinute 0 acts as 1: Delay = %v, want %v", th.Delay(ip1), throttleBase)
	}
	if NewThrottle(5, nil).now == nil {
		t.Error("nil clock not replaced by time.Now")
	}
}

func TestThrottleBoundedMemory(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(5, clk.now)
	th.maxEntries = 100
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range 1000 {
		th.Failure(addr(i))
		if len(th.entries) > th.maxEntries+1 {
			t.Fatalf("after %d addresses the table holds %d entries, limit %d", i+1, len(th.entries), th.maxEntries)
		}
	}
	// Expired entries go at the next prune once a minute has passed.
	clk.advance(2 * time.Minute)
	th.Failure(ip1)
	if len(th.entries) != 1 {
		t.Errorf("after expiry the table holds %d entries, want 1", len(th.entries))
	}
}

func TestThrottleConcurrent(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(5, clk.now)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				ip := netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", (g*200+i)%256))
				th.Failure(ip)
				th.Delay(ip)
				if i%7 == 0 {
					th.Success(ip)
				}
			}
		})
	}
	wg.Wait()
	for k, times := range th.entries {
		if len(times) > 5+throttleSteps {
			t.Errorf("%s holds %d timestamps", k, len(times))
		}
	}
}
