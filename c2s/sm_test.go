package c2s

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// smNext returns the next element that is not a server ack request,
// answering none of them; requests are counted in c.
func (c *testClient) smNext() *stanza.Element {
	c.t.Helper()
	for {
		el := c.next()
		if el.Name.Space == nsSM && el.Name.Local == "r" {
			c.requests++
			continue
		}
		return el
	}
}

// enableSM enables stream management and returns <enabled/>.
func (c *testClient) enableSM(resume bool) *stanza.Element {
	c.t.Helper()
	if resume {
		c.send(`<enable xmlns='urn:xmpp:sm:3' resume='true'/>`)
	} else {
		c.send(`<enable xmlns='urn:xmpp:sm:3'/>`)
	}
	el := c.smNext()
	if el.Name.Space != nsSM || el.Name.Local != "enabled" {
		c.t.Fatalf("enable: got %s", el)
	}
	return el
}

// expectMessages reads messages (skipping presence and ack requests) until
// it has the given ids, in order.
func (c *testClient) expectMessages(ids ...string) []*stanza.Element {
	c.t.Helper()
	var got []*stanza.Element
	for len(got) < len(ids) {
		el := c.smNext()
		if el.Name.Local != "message" {
			continue
		}
		if el.Get("id") != ids[len(got)] {
			c.t.Fatalf("got message %s, want id %s", el, ids[len(got)])
		}
		got = append(got, el)
	}
	return got
}

// undeliverables records what would be stored offline.
type undeliverables struct {
	mu   sync.Mutex
	msgs []*stanza.Element
	got  chan struct{}
}

func newUndeliverables() *undeliverables { return &undeliverables{got: make(chan struct{}, 100)} }

func (u *undeliverables) Register(r *Registry) error {
	r.OnUndeliverable(func(_ context.Context, _ jid.JID, msg *stanza.Element) error {
		u.mu.Lock()
		u.msgs = append(u.msgs, msg)
		u.mu.Unlock()
		u.got <- struct{}{}
		return nil
	})
	return nil
}

func (u *undeliverables) wait(t *testing.T, n int, within time.Duration) []*stanza.Element {
	t.Helper()
	deadline := time.After(within)
	for i := 0; i < n; i++ {
		select {
		case <-u.got:
		case <-deadline:
			t.Fatalf("%d of %d messages stored offline", i, n)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*stanza.Element(nil), u.msgs...)
}

func TestSMFeatureAndEnable(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{ResumeTimeout: Duration(90 * time.Second)}, map[string]string{"alice": "pw"})
	c := dialAuthed(t, srv.addr, "alice", "pw")
	if c.features.Child(nsSM, "sm") == nil {
		t.Fatalf("post-auth features lack <sm/>: %s", c.features)
	}
	// Before bind, enable is refused and the stream goes on.
	c.send(`<enable xmlns='urn:xmpp:sm:3'/>`)
	if el := c.next(); el.Name.Local != "failed" || el.Child(stanza.NSStanzas, "unexpected-request") == nil {
		t.Fatalf("enable before bind: got %s", el)
	}
	c.bind("one")
	en := c.enableSM(true)
	if en.Get("id") == "" || en.Get("resume") != "true" || en.Get("max") != "90" {
		t.Errorf("enabled = %s, want an id, resume='true', max='90'", en)
	}
	c.send(`<enable xmlns='urn:xmpp:sm:3'/>`)
	if el := c.smNext(); el.Name.Local != "failed" || el.Child(stanza.NSStanzas, "unexpected-request") == nil {
		t.Errorf("second enable: got %s", el)
	}
	c2 := dialClient(t, srv.addr, "alice", "pw", "two")
	c2.send(`<enable xmlns='urn:xmpp:sm:3' resume='true' max='30'/>`)
	if el := c2.smNext(); el.Get("max") != "30" {
		t.Errorf("client asked for 30s: got %s", el)
	}
	c2.send(`<enable xmlns='urn:xmpp:sm:3' resume='true'/>`) // second: refused, as above
	c2.smNext()
	c3 := dialClient(t, srv.addr, "alice", "pw", "three")
	if el := c3.enableSM(false); el.Get("id") != "" || el.Get("resume") != "" {
		t.Errorf("enable without resume: got %s", el)
	}
}

func TestSMCountsBothWays(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	a.send(`<iq type='get' id='before'><ping xmlns='urn:xmpp:ping'/></iq>`) // not counted: before enable
	a.smNext()
	a.enableSM(false)
	// Inbound: three stanzas of three kinds.
	a.send(`<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`)
	a.send(`<presence/>`)
	a.send(fmtMsg("bob@localhost/two", "x1", "hello"))
	a.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	for {
		el := a.smNext()
		if el.Name.Space == nsSM && el.Name.Local == "a" {
			if el.Get("h") != "3" {
				t.Errorf("server ack = %s, want h='3'", el)
			}
			break
		}
	}
	// Outbound: the ping result and the presence echo were numbered 1
	// and 2; three messages from bob make 5.
	for i := 1; i <= 3; i++ {
		b.send(fmtMsg("alice@localhost/one", fmt.Sprint("m", i), "x"))
	}
	a.expectMessages("m1", "m2", "m3")
	if a.requests == 0 {
		t.Error("the server never asked for an ack")
	}
	a.send(`<a xmlns='urn:xmpp:sm:3' h='5'/>`)
	a.send(`<a xmlns='urn:xmpp:sm:3' h='5'/>`) // repeating is harmless
	a.send(`<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if el := a.smNext(); el.Get("id") != "p2" || el.Get("type") != "result" {
		t.Fatalf("after acks: got %s", el)
	}
	// One stanza (the p2 result) is unacknowledged: h=7 is too high.
	a.send(`<a xmlns='urn:xmpp:sm:3' h='7'/>`)
	for {
		el, err := a.nextErr(5 * time.Second)
		if err != nil {
			t.Fatalf("no stream error for h too high: %v", err)
		}
		if el.Name.Local != "error" {
			continue
		}
		if el.Child(nsStreamErrors, "undefined-condition") == nil {
			t.Errorf("stream error %s, want undefined-condition", el)
		}
		hc := el.Child(nsSM, "handled-count-too-high")
		if hc == nil || hc.Get("h") != "7" || hc.Get("send-count") != "6" {
			t.Errorf("stream error %s, want handled-count-too-high h='7' send-count='6'", el)
		}
		break
	}
}

// dropAndResume closes c's connection as a network failure would (no
// closing tag) and resumes its session on a new stream with h.
func dropAndResume(t *testing.T, srv *testServer, c *testClient, user, pass, id string, h int) *testClient {
	t.Helper()
	c.conn.Close()
	n := dialAuthed(t, srv.addr, user, pass)
	n.send(fmt.Sprintf(`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='%d'/>`, id, h))
	return n
}

func TestSMResumeRedeliversUnacked(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	id := a.enableSM(true).Get("id")
	a.send(`<presence/>`)
	a.expectStart("presence") // #1
	b.send(fmtMsg("alice@localhost/one", "m1", "one"))
	b.send(fmtMsg("alice@localhost/one", "m2", "two"))
	a.expectMessages("m1", "m2") // #2, #3
	a.send(`<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`)
	a.smNext() // #4, and the server has handled 2 of ours
	// The client handled #1 and #2 only; the connection dies.
	a.conn.Close()
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.smDetached) == 1 })
	b.send(fmtMsg("alice@localhost/one", "m3", "while detached"))
	b.send(fmtMsg("alice@localhost", "m4", "to the bare JID while detached"))
	if rs := srv.Sessions("alice@localhost"); len(rs) != 1 || !rs[0].Available {
		t.Fatalf("detached session in the directory: %+v", rs)
	}
	n := dialAuthed(t, srv.addr, "alice", "pw-a")
	n.send(fmt.Sprintf(`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='2'/>`, id))
	res := n.smNext()
	if res.Name.Local != "resumed" || res.Get("previd") != id || res.Get("h") != "2" {
		t.Fatalf("resume: got %s, want resumed previd=%s h=2", res, id)
	}
	if el := n.smNext(); el.Get("id") != "m2" {
		t.Fatalf("first redelivered stanza: %s, want m2", el)
	}
	if el := n.smNext(); el.Get("id") != "p1" {
		t.Fatalf("second redelivered stanza: %s, want the p1 result", el)
	}
	n.expectMessages("m3", "m4")
	// The session goes on, counting on from where it was.
	b.send(fmtMsg("alice@localhost/one", "m5", "after"))
	n.expectMessages("m5")
	n.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	if el := n.smNext(); el.Name.Local != "a" || el.Get("h") != "2" {
		t.Errorf("ack after resumption: %s, want h=2", el)
	}
	n.send(`<a xmlns='urn:xmpp:sm:3' h='7'/>`)
	n.send(`<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if el := n.smNext(); el.Get("id") != "p2" {
		t.Errorf("after the ack: got %s", el)
	}
	if got := testutil.ToFloat64(srv.m.smResumes.WithLabelValues("resumed")); got != 1 {
		t.Errorf("resumed counter = %v", got)
	}
	// And it can be resumed again with the same id.
	n2 := dropAndResume(t, srv, n, "alice", "pw-a", id, 8)
	if el := n2.smNext(); el.Name.Local != "resumed" {
		t.Fatalf("second resumption: got %s", el)
	}
}

func TestSMResumeTakesOverOpenConnection(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	id := a.enableSM(true).Get("id")
	b.send(fmtMsg("alice@localhost/one", "m1", "x"))
	a.expectMessages("m1")
	n := dialAuthed(t, srv.addr, "alice", "pw-a")
	n.send(fmt.Sprintf(`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='0'/>`, id))
	if el := n.smNext(); el.Name.Local != "resumed" {
		t.Fatalf("resume: got %s", el)
	}
	n.expectMessages("m1")
	// The old connection is ended with <conflict/> (XEP-0198 §5).
	if cond := a.streamError(); cond != "conflict" {
		t.Fatalf("old connection after the session was resumed elsewhere: stream error %q, want conflict", cond)
	}
	if el, err := a.nextErr(5 * time.Second); err == nil && el.Name.Local != "closed" || err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatalf("old stream not closed after its stream error: %v, %v", el, err)
	}
	// The session goes on on the new connection.
	b.send(fmtMsg("alice@localhost/one", "m2", "y"))
	n.expectMessages("m2")
}

func TestSMResumeFailures(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	id := a.enableSM(true).Get("id")
	a.send(`<presence/>`)
	a.expectStart("presence")
	plain := dialClient(t, srv.addr, "alice", "pw-a", "plain") // no stream management

	tests := []struct {
		name, user, pass, resume, cond string
		tooHigh                        bool
		h                              string // <failed h/>: the session was known
	}{
		{name: "unknown id", user: "alice", pass: "pw-a", resume: `previd='nope' h='0'`, cond: "item-not-found"},
		{name: "another user's session", user: "bob", pass: "pw-b", resume: `previd='` + id + `' h='0'`, cond: "item-not-found"},
		{name: "no h", user: "alice", pass: "pw-a", resume: `previd='` + id + `'`, cond: "bad-request"},
		// The server handled alice's one presence stanza.
		{name: "h too high", user: "alice", pass: "pw-a", resume: `previd='` + id + `' h='5'`, cond: "undefined-condition", tooHigh: true, h: "1"},
		// Ended, but known for a resume timeout: the client learns h.
		{name: "ended by the previous case", user: "alice", pass: "pw-a", resume: `previd='` + id + `' h='0'`, cond: "item-not-found", h: "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAuthed(t, srv.addr, tc.user, tc.pass)
			c.send(`<resume xmlns='urn:xmpp:sm:3' ` + tc.resume + `/>`)
			el := c.next()
			if el.Name.Local != "failed" || el.Child(stanza.NSStanzas, tc.cond) == nil {
				t.Fatalf("got %s, want <failed><%s/>", el, tc.cond)
			}
			if got := el.Get("h"); got != tc.h {
				t.Errorf("<failed h='%s'/>, want h='%s'", got, tc.h)
			}
			if hc := el.Child(nsSM, "handled-count-too-high"); tc.tooHigh && (hc == nil || hc.Get("h") != "5" || hc.Get("send-count") != "1") {
				t.Errorf("got %s, want handled-count-too-high h=5 send-count=1", el)
			}
			// The stream goes on: the client may bind instead.
			c.bind("after-" + strings.ReplaceAll(tc.name, " ", "-"))
		})
	}
	if cond := a.streamError(); cond != "undefined-condition" {
		t.Errorf("old stream after a resume with h too high: %q, want undefined-condition", cond)
	}
	// A resume on a bound stream is refused.
	plain.send(`<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>`)
	if el := plain.smNext(); el.Name.Local != "failed" || el.Child(stanza.NSStanzas, "unexpected-request") == nil {
		t.Errorf("resume after bind: got %s", el)
	}
}

func TestSMTimeoutReroutesUnacked(t *testing.T) {
	checkNoGoroutineLeak(t)
	off := newUndeliverables()
	srv := newTestServer(t, Config{ResumeTimeout: Duration(time.Second)},
		map[string]string{"alice": "pw-a", "bob": "pw-b"}, off)
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	b := dialClient(t, srv.addr, "bob", "pw-b", "two")
	id := a.enableSM(true).Get("id")
	a.send(`<presence/>`)
	a.expectStart("presence")
	b.send(fmtMsg("alice@localhost/one", "m1", "seen but not acked"))
	b.send(`<iq type='get' id='q1' to='alice@localhost/one'><query xmlns='jabber:iq:version'/></iq>`)
	a.expectMessages("m1")
	a.conn.Close()
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.smDetached) == 1 })
	b.send(fmtMsg("alice@localhost/one", "m2", "queued while detached"))
	before := time.Now()
	msgs := off.wait(t, 2, 10*time.Second)
	if time.Since(before) < 500*time.Millisecond {
		t.Errorf("rerouted after %v, before the resume timeout", time.Since(before))
	}
	for i, want := range []string{"m1", "m2"} {
		if msgs[i].Get("id") != want {
			t.Errorf("offline message %d = %s, want %s", i, msgs[i], want)
		}
		d := msgs[i].Child(nsDelay, "delay")
		if d == nil || d.Get("from") != "localhost" || d.Get("stamp") == "" {
			t.Errorf("offline message %s lacks a delay from the domain", msgs[i])
		}
	}
	if el := b.smNext(); el.Get("id") != "q1" || el.Get("type") != "error" ||
		el.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "recipient-unavailable") == nil {
		t.Errorf("unanswered request: got %s, want a recipient-unavailable error", el)
	}
	if got := testutil.ToFloat64(srv.m.smResumes.WithLabelValues("timeout")); got != 1 {
		t.Errorf("timeout counter = %v", got)
	}
	waitFor(t, func() bool { return len(srv.Sessions("alice@localhost")) == 0 })
	// A resumption after the timeout fails, but the client learns that
	// its presence was handled (XEP-0198 §5 <failed h/>).
	n := dialAuthed(t, srv.addr, "alice", "pw-a")
	n.send(fmt.Sprintf(`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='1'/>`, id))
	if el := n.next(); el.Name.Local != "failed" || el.Child(stanza.NSStanzas, "item-not-found") == nil || el.Get("h") != "1" {
		t.Errorf("resume after the timeout: got %s, want <failed h='1'><item-not-found/>", el)
	}
}

func TestSMUnackedGoToOtherResourceOnClose(t *testing.T) {
	checkNoGoroutineLeak(t)
	srv := newTestServer(t, Config{}, map[string]string{"alice": "pw-a", "bob": "pw-b"})
	a := dialClient(t, srv.addr, "alice", "pw-a", "one")
	a2 := dialClient(t, srv.addr, "alice", "pw-a", "two")
	b := dialClient(t, srv.addr, "bob", "pw-b", "three")
	a2.send(`<presence/>`)
	a2.expectStart("presence")
	a.enableSM(false) // acks without resumption
	a.send(`<presence><priority>5</priority></presence>`)
	a.expectStart("presence")
	b.send(fmtMsg("alice@localhost", "m1", "to the bare JID"))
	a.expectMessages("m1")
	// A clean close without acking m1: it is not lost.
	a.send(`</stream:stream>`)
	var got *stanza.Element
	for got == nil {
		if el := a2.smNext(); el.Name.Local == "message" {
			got = el
		}
	}
	if got.Get("id") != "m1" || got.Child(nsDelay, "delay") == nil {
		t.Errorf("rerouted message = %s, want m1 with a delay", got)
	}
}

func TestSMConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "defaults", cfg: Config{}, ok: true},
		{name: "resume timeout", cfg: Config{ResumeTimeout: Duration(time.Minute)}, ok: true},
		{name: "resume timeout too short", cfg: Config{ResumeTimeout: Duration(time.Millisecond)}},
		{name: "negative max unacked", cfg: Config{MaxUnacked: -1}},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if got := (Config{}).resumeTimeout(); got != 5*time.Minute {
		t.Errorf("default resume timeout = %v", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
