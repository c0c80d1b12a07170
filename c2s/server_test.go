package c2s

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// checkNoGoroutineLeak fails the test if goroutines started during it are
// still running once it ends (after giving them a moment to exit).
func checkNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func TestMessageAndShutdown(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	b.send(`<presence/>`)
	a.send(`<presence/>`)
	if p := b.expectStart("presence"); p.Get("from") != "bob@localhost/two" {
		t.Errorf("own presence echoed from %q", p.Get("from"))
	}
	a.send(fmtMsg("bob@localhost", "m1", "hi"))
	var got string
	for got == "" {
		el := b.next()
		if el.Name.Local == "message" {
			got = el.ChildText("", "body")
			if from := el.Get("from"); from != "alice@localhost/one" {
				t.Errorf("from = %q, want alice@localhost/one", from)
			}
		}
	}
	if got != "hi" {
		t.Errorf("body = %q", got)
	}
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*testClient{a, b} {
		if cond := c.streamError(); cond != "system-shutdown" {
			t.Errorf("stream error on shutdown = %q, want system-shutdown", cond)
		}
	}
}

func TestSlowConsumerIsClosedAndSenderUnharmed(t *testing.T) {
	checkNoGoroutineLeak(t)
	// alice floods on purpose: the rate limits (tested on their own) are off.
	cfg := Config{QueueLength: 4, SlowConsumerGrace: Duration(200 * time.Millisecond), StanzasPerSecond: -1, BytesPerSecond: -1}
	srv := newTestServer(t, cfg, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two") // never reads again
	b.send(`<presence/>`)
	time.Sleep(100 * time.Millisecond)
	// Large messages so that the socket buffers fill and bob's queue backs up.
	body := strings.Repeat("x", 60000)
	go func() {
		for i := 0; i < 200; i++ {
			if _, err := a.conn.Write([]byte(fmtMsg("bob@localhost/two", "m", body))); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for testutil.ToFloat64(srv.m.slowConsumers) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("bob was never closed as a slow consumer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Alice still gets answers: her session was not held up. Messages that
	// could not reach bob bounce back to her (no offline storage here).
	a.send(`<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	for {
		el, err := a.nextErr(10 * time.Second)
		if err != nil {
			t.Fatalf("alice: %v", err)
		}
		if el.Name.Local == "iq" && el.Get("id") == "p1" {
			if el.Get("type") != "result" {
				t.Errorf("ping answer %s", el)
			}
			break
		}
	}
}

func TestResourceConflictClosesOldSession(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a"})
	old := dialClient(t, srv.addr, "alice", "pw-a", "same")
	dialClient(t, srv.addr, "alice", "pw-a", "same")
	if cond := old.streamError(); cond != "conflict" {
		t.Errorf("old session stream error = %q, want conflict", cond)
	}
	if n := len(srv.Sessions("alice@localhost")); n != 1 {
		t.Errorf("%d sessions bound, want 1", n)
	}
}

func TestNegativePriorityGetsNoBareJIDMessages(t *testing.T) {
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "a")
	neg := dialClient(t, srv.addr, "bob", "pw-b", "neg")
	neg.send(`<presence><priority>-1</priority></presence>`)
	time.Sleep(100 * time.Millisecond)
	a.send(fmtMsg("bob@localhost", "m1", "to bare"))
	// Bob has no non-negative resource: alice gets service-unavailable.
	for {
		el := a.next()
		if el.Name.Local == "message" {
			if el.Get("type") != "error" || el.Child("", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable") == nil {
				t.Fatalf("want service-unavailable bounce, got %s", el)
			}
			break
		}
	}
	a.send(fmtMsg("bob@localhost/neg", "m2", "to full"))
	for {
		el := neg.next()
		if el.Name.Local == "message" {
			if el.ChildText("", "body") != "to full" {
				t.Fatalf("negative-priority resource got %s", el)
			}
			break
		}
	}
}
