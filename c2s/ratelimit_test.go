package c2s

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestFloodGetsPolicyViolationThenStreamClosed: a raw client that floods
// gets <policy-violation/> (type wait) for what it sent over the limit, then
// its stream closed; another session goes on unharmed.
func TestFloodGetsPolicyViolationThenStreamClosed(t *testing.T) {
	checkNoGoroutineLeak(t)
	cfg := Config{StanzasPerSecond: 2, StanzaBurst: 5, RateViolations: 30}
	srv := newTestServer(t, cfg, map[string]string{"alice": "pw-a", "bob": "pw-b", "carol": "pw-c"})
	flood := dialClient(t, srv.addr, "alice", "pw-a", "flood")
	bob := dialClient(t, srv.addr, "bob", "pw-b", "b")
	carol := dialClient(t, srv.addr, "carol", "pw-c", "c")
	bob.send(`<presence/>`)
	bob.next() // own presence echo

	// 10 stanzas at once: the burst of 5 passes, the rest are refused.
	var b strings.Builder
	for i := range 10 {
		b.WriteString(fmtMsg("bob@localhost/b", fmt.Sprintf("f%d", i), "x"))
	}
	flood.send(b.String())
	refused := 0
	for range 10 - 5 {
		el := flood.next()
		e := el.Child("", "error")
		if el.Get("type") != "error" || e == nil || e.Get("type") != "wait" || e.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "policy-violation") == nil {
			t.Fatalf("flooder got %s, want a policy-violation error of type wait", el)
		}
		refused++
	}
	got := 0
	for got < 5 {
		el, err := bob.nextErr(5 * time.Second)
		if err != nil {
			t.Fatalf("bob got %d messages of the burst of 5: %v", got, err)
		}
		if el.Name.Local == "message" {
			got++
		}
	}
	if n := testutil.ToFloat64(srv.m.rateLimited.WithLabelValues("stanzas", "stanza_error")); n != float64(refused) {
		t.Errorf("rate_limited{stanzas,stanza_error} = %v, want %d", n, refused)
	}

	// carol, meanwhile, is not limited by alice's flood; and bob got
	// nothing of alice's beyond the burst.
	carol.send(fmtMsg("bob@localhost/b", "c1", "hello"))
	if el := bob.next(); el.Get("id") != "c1" {
		t.Errorf("bob got %s, want carol's message", el)
	}

	// A sustained flood closes the stream.
	b.Reset()
	for i := range 100 {
		b.WriteString(fmtMsg("bob@localhost/b", fmt.Sprintf("g%d", i), "x"))
	}
	go flood.conn.Write([]byte(b.String()))
	if cond := flood.streamError(); cond != "policy-violation" {
		t.Errorf("flooder's stream error = %q, want policy-violation", cond)
	}
	if n := testutil.ToFloat64(srv.m.rateLimited.WithLabelValues("stanzas", "stream_closed")); n != 1 {
		t.Errorf("rate_limited{stanzas,stream_closed} = %v, want 1", n)
	}
	carol.send(fmtMsg("bob@localhost/b", "c2", "still here"))
	for {
		el := bob.next()
		if el.Get("id") == "c2" {
			break
		}
		if !strings.HasPrefix(el.Get("id"), "g") {
			t.Fatalf("bob got %s", el)
		}
	}
}

// TestByteLimit: big stanzas exhaust the byte bucket before the stanza one.
func TestByteLimit(t *testing.T) {
	checkNoGoroutineLeak(t)
	cfg := Config{BytesPerSecond: 1000, ByteBurst: 1, MaxStanzaBytes: 20000, RateViolations: 100}
	srv := newTestServer(t, cfg, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "a")
	bob := dialClient(t, srv.addr, "bob", "pw-b", "b")
	bob.send(`<presence/>`)
	body := strings.Repeat("y", 15000)
	// The burst is raised to one maximal stanza (plus slack): two big
	// stanzas cannot both pass.
	a.send(fmtMsg("bob@localhost/b", "big1", body) + fmtMsg("bob@localhost/b", "big2", body))
	for {
		el := a.next()
		if el.Get("type") == "error" {
			if el.Get("id") != "big2" || el.Child("", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "policy-violation") == nil {
				t.Fatalf("got an error for %s: %s, want big2 refused", el.Get("id"), el.Child("", "error"))
			}
			break
		}
	}
	if n := testutil.ToFloat64(srv.m.rateLimited.WithLabelValues("bytes", "stanza_error")); n != 1 {
		t.Errorf("rate_limited{bytes,stanza_error} = %v, want 1", n)
	}
}

// TestLegitimateClientNotThrottled: a fast but normal client (a login
// burst of roster, presence, pings and a chat) under the defaults.
func TestLegitimateClientNotThrottled(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "a")
	bob := dialClient(t, srv.addr, "bob", "pw-b", "b")
	bob.send(`<presence/>`)
	bob.next()
	var b strings.Builder
	for i := range 60 {
		b.WriteString(fmtMsg("bob@localhost/b", fmt.Sprintf("m%d", i), strings.Repeat("z", 500)))
		b.WriteString(fmt.Sprintf(`<iq type='get' id='p%d'><ping xmlns='urn:xmpp:ping'/></iq>`, i))
	}
	a.send(b.String())
	for range 60 {
		if el := a.next(); el.Get("type") != "result" {
			t.Fatalf("alice got %s, want ping results only", el)
		}
	}
	for range 60 {
		if el := bob.next(); el.Name.Local != "message" {
			t.Fatalf("bob got %s", el)
		}
	}
	for _, l := range []string{"stanzas", "bytes"} {
		if n := testutil.ToFloat64(srv.m.rateLimited.WithLabelValues(l, "stanza_error")); n != 0 {
			t.Errorf("a legitimate client was throttled: %s %v", l, n)
		}
	}
}

// TestPerIPLimits: connections over the per-address limits are closed at
// once; closing one makes room again.
func TestPerIPLimits(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{MaxConnectionsPerIP: 2, ConnectionsPerIPPerMinute: -1}, map[string]string{"alice": "pw-a"})
	closedAtOnce := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err != nil && !isTimeout(err)
	}
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedAtOnce(c) {
		t.Fatal("a third connection from one address was not closed")
	}
	if n := testutil.ToFloat64(srv.m.rateLimited.WithLabelValues("ip_concurrent", "refused")); n != 1 {
		t.Errorf("rate_limited{ip_concurrent,refused} = %v, want 1", n)
	}
	a.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		ok := !closedAtOnce(d)
		d.Close()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no room after a connection closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestIPLimitsPerMinute(t *testing.T) {
	l := &ipLimits{perMinute: 3, m: map[netip.Addr]*ipState{}}
	ip, other := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := time.Unix(1000, 0)
	for i := range 3 {
		if lim := l.acquire(ip, now); lim != "" {
			t.Fatalf("connection %d refused: %s", i, lim)
		}
		l.release(ip, now)
	}
	if lim := l.acquire(ip, now); lim != "ip_per_minute" {
		t.Errorf("fourth connection in a minute: %q, want ip_per_minute", lim)
	}
	if lim := l.acquire(other, now); lim != "" {
		t.Errorf("another address refused: %s", lim)
	}
	if lim := l.acquire(ip, now.Add(21*time.Second)); lim != "" {
		t.Errorf("after a third of a minute: %q, want admitted", lim)
	}
}
