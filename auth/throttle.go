package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Throttle parameters.
const (
	throttleWindow = time.Minute
	// The first delayed attempt waits throttleBase; each further failure
	// within the window doubles the wait, up to throttleMax.
	throttleBase = 500 * time.Millisecond
	throttleMax  = 5 * time.Second
	// throttleSteps bounds how many failures beyond the limit are
	// remembered: enough to reach throttleMax.
	throttleSteps = 4
	// defaultThrottleEntries bounds the number of addresses tracked.
	defaultThrottleEntries = 1 << 16
)

// A Throttle slows down password guessing from one address. After
// perMinute failed authentications within a sliding minute, each further
// attempt from that address is answered only after a delay that doubles
// with every failure (0.5s, 1s, 2s, 4s, then 5s at most). Attempts are
// never refused, so a legitimate user behind a busy address is slowed but
// never locked out; success clears the address's record.
//
// IPv4 addresses (and IPv4-mapped IPv6) are tracked one by one, IPv6
// addresses by their /64, since one host commonly holds a whole /64.
//
// Memory is bounded: each address keeps at most perMinute+4 timestamps;
// addresses with no failure within the last minute are pruned; and beyond
// 65536 addresses arbitrary entries are dropped, so a flood from many
// addresses weakens the throttle rather than exhausting memory.
//
// A Throttle is safe for concurrent use.
type Throttle struct {
	limit      int
	now        func() time.Time
	maxEntries int

	mu        sync.Mutex
	entries   map[netip.Addr][]time.Time // failure times, oldest first
	lastPrune time.Time
}

// NewThrottle returns a throttle allowing perMinute failures per address
// and minute before delaying (a perMinute below 1 counts as 1). now is
// the clock; nil means time.Now.
func NewThrottle(perMinute int, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{
		limit:      max(perMinute, 1),
		now:        now,
		maxEntries: defaultThrottleEntries,
		entries:    make(map[netip.Addr][]time.Time),
	}
}

func throttleKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// recent drops the failures that left the window and returns the rest.
func recent(times []time.Time, now time.Time) []time.Time {
	cut := now.Add(-throttleWindow)
	i := 0
	for i < len(times) && !times[i].After(cut) {
		i++
	}
	return times[i:]
}

// Delay returns how long to wait before answering the next authentication
// attempt from ip: 0 unless ip failed perMinute times within the last
// minute.
func (t *Throttle) Delay(ip netip.Addr) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(recent(t.entries[throttleKey(ip)], t.now()))
	if n < t.limit {
		return 0
	}
	return min(throttleBase<<(n-t.limit), throttleMax)
}

// Failure records a failed authentication from ip.
func (t *Throttle) Failure(ip netip.Addr) {
	now := t.now()
	k := throttleKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	times := recent(t.entries[k], now)
	if len(times) >= t.limit+throttleSteps {
		times = times[1:]
	}
	// Copy rather than append in place: the slice may share its array with
	// the dropped prefix, and keeping it compact bounds memory.
	next := make([]time.Time, len(times), len(times)+1)
	copy(next, times)
	t.entries[k] = append(next, now)
	t.prune(now)
}

// Success records a successful authentication from ip, clearing its
// failures.
func (t *Throttle) Success(ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, throttleKey(ip))
}

// prune drops expired entries once a window, or whenever the table is
// full; if it is still full, it drops arbitrary entries down to 3/4.
func (t *Throttle) prune(now time.Time) {
	full := len(t.entries) > t.maxEntries
	if !full && now.Sub(t.lastPrune) < throttleWindow {
		return
	}
	t.lastPrune = now
	for k, times := range t.entries {
		if len(recent(times, now)) == 0 {
			delete(t.entries, k)
		}
	}
	if len(t.entries) <= t.maxEntries {
		return
	}
	for k := range t.entries {
		if len(t.entries) <= t.maxEntries*3/4 {
			break
		}
		delete(t.entries, k)
	}
}
