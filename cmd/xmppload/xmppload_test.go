package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "one sample", sorted: []time.Duration{7}, p: 99.9, want: 7},
		{name: "p50 of 1..100", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p90 of 1..100", sorted: hundred, p: 90, want: 90 * time.Millisecond},
		{name: "p99 of 1..100", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p99.9 of 1..100 is the max", sorted: hundred, p: 99.9, want: 100 * time.Millisecond},
		{name: "p100", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "tiny p is the min", sorted: hundred, p: 0.001, want: time.Millisecond},
		{name: "p50 of four", sorted: []time.Duration{1, 2, 3, 4}, p: 50, want: 2},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	got := summarize(s)
	want := Latency{Count: 4, Min: 1, Mean: 2.5, P50: 2, P90: 4, P99: 4, P999: 4, Max: 4}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if z := summarize(nil); z != (Latency{}) {
		t.Errorf("summarize(nil) = %+v, want zero", z)
	}
}

func TestFramer(t *testing.T) {
	stream := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x'>" +
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\n  " +
		"<message from='a@b/c' to=\"d@e\"><body>x &gt; y, a>b, '/>' in text</body></message>" +
		"<iq type='result' id='a&apos;b>c'/>" +
		"<message><body><![CDATA[<not a tag/> ]]></body></message>" +
		"<presence/></stream:stream>"
	want := []string{
		"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x'>",
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
		"<message from='a@b/c' to=\"d@e\"><body>x &gt; y, a>b, '/>' in text</body></message>",
		"<iq type='result' id='a&apos;b>c'/>",
		"<message><body><![CDATA[<not a tag/> ]]></body></message>",
		"<presence/>",
	}
	readers := map[string]func() io.Reader{
		"whole":        func() io.Reader { return strings.NewReader(stream) },
		"byte by byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
		"halves":       func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
	}
	for name, r := range readers {
		f := newFramer(r(), 1<<16)
		f.buf = make([]byte, 16) // force growth and compaction
		for i, w := range want {
			got, err := f.next()
			if err != nil {
				t.Fatalf("%s: element %d: %v", name, i, err)
			}
			if string(got) != w {
				t.Fatalf("%s: element %d = %q, want %q", name, i, got, w)
			}
		}
		if _, err := f.next(); err != errStreamEnd {
			t.Errorf("%s: after the last element: err = %v, want errStreamEnd", name, err)
		}
	}
}

func TestFramerLimit(t *testing.T) {
	f := newFramer(strings.NewReader("<stream:stream><message><body>"+strings.Repeat("a", 5000)+"</body></message>"), 1024)
	f.buf = make([]byte, 64)
	if _, err := f.next(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.next(); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized element: err = %v, want a size error", err)
	}
}

// RFC 5802 §5: the SCRAM-SHA-1 example exchange.
func TestSCRAMSHA1Vector(t *testing.T) {
	s, err := newSCRAM("SCRAM-SHA-1", "user", "pencil", newSaltCache())
	if err != nil {
		t.Fatal(err)
	}
	s.nonce = "fyko+d2lbbFgONRv9qkxdawL"
	if got := string(s.start()); got != "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL" {
		t.Errorf("client-first = %q", got)
	}
	final, err := s.step([]byte("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="; string(final) != want {
		t.Errorf("client-final = %q, want %q", final, want)
	}
	if err := s.verify([]byte("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")); err != nil {
		t.Errorf("verify good signature: %v", err)
	}
	if err := s.verify([]byte("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")); err == nil {
		t.Error("verify bad signature: no error")
	}
	if _, err := s.step([]byte("r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096")); err == nil {
		t.Error("step with a foreign nonce: no error")
	}
}

func TestTrackerAccounting(t *testing.T) {
	tr := newTracker(3, 4, 2) // 4 messages, each expected at 2 receivers (a room of 2)
	now := 50 * time.Millisecond
	msg := func(seq int, typ string) []byte {
		return []byte("<message type='" + typ + "' from='r@c/n'><body>" + tr.body(seq, int64(10*time.Millisecond)) + "</body></message>")
	}
	for _, o := range []struct {
		b    []byte
		slot int
	}{
		{msg(0, "groupchat"), 0}, {msg(0, "groupchat"), 1}, {msg(0, "groupchat"), 1}, // one duplicate
		{msg(1, "groupchat"), 0},                           // one of two
		{msg(3, "groupchat"), 1}, {msg(3, "groupchat"), 1}, // twice to one receiver, none to the other: a duplicate and a loss
		{msg(2, "error"), 0},     // bounce
		{msg(2, "groupchat"), 2}, // no such receiver
		{[]byte("<message><body>xl 9 0 1</body></message>"), 0}, // another run
		{[]byte("<message><body>hello</body></message>"), 0},    // not measured
	} {
		tr.observe(o.b, o.slot, now)
	}
	if got := tr.delivered(); got != 4 {
		t.Errorf("delivered = %d, want 4", got)
	}
	if got := tr.dups.Load(); got != 2 {
		t.Errorf("duplicates = %d, want 2", got)
	}
	if got := tr.errors.Load(); got != 1 {
		t.Errorf("errors = %d, want 1", got)
	}
	if got := tr.foreign.Load(); got != 2 {
		t.Errorf("foreign = %d, want 2", got)
	}
	for _, l := range tr.lat {
		if l != 40*time.Millisecond {
			t.Errorf("latency %v, want 40ms", l)
		}
	}
}

func TestParseMarker(t *testing.T) {
	tests := []struct {
		in       string
		run, seq int
		ns       int64
		ok       bool
	}{
		{in: "1 2 3</body>", run: 1, seq: 2, ns: 3, ok: true},
		{in: "0 123456 170000000000000000", run: 0, seq: 123456, ns: 170000000000000000, ok: true},
		{in: "1 2", ok: false},
		{in: "1  2 3", ok: false},
		{in: "a 2 3", ok: false},
	}
	for _, tt := range tests {
		run, seq, ns, ok := parseMarker([]byte(tt.in))
		if ok != tt.ok || (ok && (run != tt.run || seq != tt.seq || ns != tt.ns)) {
			t.Errorf("parseMarker(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tt.in, run, seq, ns, ok, tt.run, tt.seq, tt.ns, tt.ok)
		}
	}
}

func TestRawAttrAndKind(t *testing.T) {
	b := []byte(`<message xml:lang='en' type="chat" from='a@b/c' id='x'><body>type='no'</body></message>`)
	tests := []struct{ name, want string }{
		{name: "type", want: "chat"},
		{name: "from", want: "a@b/c"},
		{name: "lang", want: ""}, // only unprefixed attributes
		{name: "to", want: ""},
	}
	for _, tt := range tests {
		if got := rawAttr(b, tt.name); got != tt.want {
			t.Errorf("rawAttr(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if k := rawKind([]byte("<stream:features>")); k != "features" {
		t.Errorf("rawKind = %q, want features", k)
	}
	if k := rawKind([]byte("<iq/>")); k != "iq" {
		t.Errorf("rawKind = %q, want iq", k)
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"10.0.0.1", false}, {"192.168.1.1", false}, {"8.8.8.8", false}, {"::ffff:10.0.0.1", false}, {"fe80::1", false},
	}
	for _, tt := range tests {
		if got := isLoopback(net.ParseIP(tt.ip)); got != tt.want {
			t.Errorf("isLoopback(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"idle", "--addr", "10.1.2.3:5222"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("idle against 10.1.2.3: err = %v, want a refusal", err)
	}
}

func TestProcParsing(t *testing.T) {
	stat := []byte("1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000000 500 18446744073709551615")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 3s", cpu, err)
	}
	rss, err := parseStatusRSS([]byte("Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t   4242 kB\n"))
	if err != nil || rss != 4242 {
		t.Errorf("parseStatusRSS = %d, %v; want 4242", rss, err)
	}
}
