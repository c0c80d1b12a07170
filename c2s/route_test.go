package c2s

import (
	"context"
	"encoding/xml"
	"strings"
	"sync"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// fakeResource records what is delivered to it.
type fakeResource struct {
	j         jid.JID
	available bool
	priority  int
	gone      bool
	mu        sync.Mutex
	got       []*stanza.Element
}

func (f *fakeResource) JID() jid.JID                  { return f.j }
func (f *fakeResource) Available() (bool, int)        { return f.available, f.priority }
func (f *fakeResource) LastPresence() *stanza.Element { return nil }
func (f *fakeResource) Send(st *stanza.Element) error {
	if f.gone {
		return ErrGone
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, st)
	return nil
}

func (f *fakeResource) bodies() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, st := range f.got {
		if st.Get("type") == "error" {
			out = append(out, "error:"+st.Child("", "error").Elements()[0].Name.Local)
			continue
		}
		out = append(out, st.ChildText("", "body"))
	}
	return strings.Join(out, ",")
}

func TestRouteMessageRules(t *testing.T) {
	type res struct {
		resource  string
		available bool
		priority  int
		gone      bool
	}
	tests := []struct {
		name      string
		resources []res
		to        string
		typ       string
		want      map[string]string // resource → bodies received
		sender    string            // what the sender receives
	}{
		{name: "chat to bare goes to highest priority",
			resources: []res{{"a", true, 5, false}, {"b", true, 1, false}},
			to:        "bob@localhost", typ: "chat", want: map[string]string{"a": "m", "b": ""}},
		{name: "ties all receive",
			resources: []res{{"a", true, 5, false}, {"b", true, 5, false}},
			to:        "bob@localhost", typ: "normal", want: map[string]string{"a": "m", "b": "m"}},
		{name: "negative priority gets nothing to bare",
			resources: []res{{"a", true, -1, false}},
			to:        "bob@localhost", typ: "chat", want: map[string]string{"a": ""}, sender: "error:service-unavailable"},
		{name: "negative priority gets full JID",
			resources: []res{{"a", true, -1, false}},
			to:        "bob@localhost/a", typ: "chat", want: map[string]string{"a": "m"}},
		{name: "unavailable resource does not count",
			resources: []res{{"a", false, 5, false}},
			to:        "bob@localhost", typ: "chat", want: map[string]string{"a": ""}, sender: "error:service-unavailable"},
		{name: "gone best falls to next priority",
			resources: []res{{"a", true, 5, true}, {"b", true, 1, false}},
			to:        "bob@localhost", typ: "chat", want: map[string]string{"b": "m"}},
		{name: "headline to all non-negative",
			resources: []res{{"a", true, 5, false}, {"b", true, 0, false}, {"c", true, -3, false}},
			to:        "bob@localhost", typ: "headline", want: map[string]string{"a": "m", "b": "m", "c": ""}},
		{name: "headline with no one is dropped silently",
			to: "bob@localhost", typ: "headline"},
		{name: "groupchat to bare is refused",
			resources: []res{{"a", true, 5, false}},
			to:        "bob@localhost", typ: "groupchat", want: map[string]string{"a": ""}, sender: "error:service-unavailable"},
		{name: "chat to unknown full JID falls back to bare",
			resources: []res{{"a", true, 0, false}},
			to:        "bob@localhost/zzz", typ: "chat", want: map[string]string{"a": "m"}},
		{name: "normal to unknown full JID falls back to bare",
			resources: []res{{"a", true, 0, false}},
			to:        "bob@localhost/zzz", typ: "", want: map[string]string{"a": "m"}},
		{name: "groupchat to unknown full JID is refused",
			resources: []res{{"a", true, 0, false}},
			to:        "bob@localhost/zzz", typ: "groupchat", want: map[string]string{"a": ""}, sender: "error:service-unavailable"},
		{name: "headline to unknown full JID is dropped",
			resources: []res{{"a", true, 0, false}},
			to:        "bob@localhost/zzz", typ: "headline", want: map[string]string{"a": ""}},
		{name: "error is never bounced",
			to: "bob@localhost", typ: "error"},
		{name: "unknown user",
			to: "nobody@localhost", typ: "chat", sender: "error:service-unavailable"},
		{name: "remote domain",
			to: "bob@example.org", typ: "chat", sender: "error:remote-server-not-found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, Config{}, map[string]string{"alice": "x", "bob": "y"})
			sender := &fakeResource{j: jid.MustParse("alice@localhost/s"), available: true}
			srv.dir.Bind(sender)
			got := map[string]*fakeResource{}
			for _, r := range tt.resources {
				f := &fakeResource{j: jid.MustParse("bob@localhost/" + r.resource), available: r.available, priority: r.priority, gone: r.gone}
				got[r.resource] = f
				srv.dir.Bind(f)
			}
			msg := stanza.New(stanza.NSClient, "message", "from", "alice@localhost/s", "to", tt.to, "type", tt.typ, "id", "x")
			msg.Append(stanza.New(stanza.NSClient, "body").SetText("m"))
			srv.Route(context.Background(), nil, msg)
			for r, want := range tt.want {
				if b := got[r].bodies(); b != want {
					t.Errorf("resource %s received %q, want %q", r, b, want)
				}
			}
			if b := sender.bodies(); b != tt.sender {
				t.Errorf("sender received %q, want %q", b, tt.sender)
			}
		})
	}
}

func TestVersionAtLeast1(t *testing.T) {
	for v, want := range map[string]bool{"1.0": true, "1.1": true, "0.9": false, "": false, "2.0": false, "x.0": false, "01.0": true} {
		if got := versionAtLeast1(v); got != want {
			t.Errorf("versionAtLeast1(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{{"", 0, true}, {"5", 5, true}, {"-128", -128, true}, {"127", 127, true}, {"128", 0, false}, {"x", 0, false}}
	for _, tt := range tests {
		if got, ok := parsePriority(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parsePriority(%q) = %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestErrorReplyNeverAnswersErrors(t *testing.T) {
	st := stanza.New(stanza.NSClient, "message", "type", "error", "from", "a@b/c", "to", "d@e")
	if r := ErrorReply(st, ServiceUnavailable(""), "e"); r != nil {
		t.Errorf("ErrorReply to an error = %s, want nil", r)
	}
	st = stanza.New(stanza.NSClient, "iq", "type", "get", "id", "1", "from", "a@b/c", "to", "d@e")
	r := ErrorReply(st, BadRequest("why"), "e")
	want := `<iq type='error' id='1' from='d@e' to='a@b/c'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>why</text></error></iq>`
	if got := string(r.AppendXML(nil, stanza.NSClient)); got != want {
		t.Errorf("ErrorReply =\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkDecodeRouteEncode measures one chat message's path through the
// server: decode from the sender's stream, check and route it, encode it
// for the recipient.
func BenchmarkDecodeRouteEncode(b *testing.B) {
	srv := newTestServer(b, Config{}, map[string]string{"alice": "x", "bob": "y"})
	sender := &Session{srv: srv.Server, jid: jid.MustParse("alice@localhost/s"), jidString: "alice@localhost/s", log: srv.log, state: stateBound}
	sender.out.start(1, func() {})
	rcpt := &encodingResource{j: jid.MustParse("bob@localhost/r")}
	srv.dir.Bind(rcpt)
	const raw = `<message to='bob@localhost' type='chat' id='m1'><body>Are you coming to the game tonight?</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`
	input := strings.Repeat(raw, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		dec := xml.NewDecoder(strings.NewReader("<stream xmlns='jabber:client'>" + input))
		dec.Token()
		for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
			tok, _ := dec.Token()
			el, err := stanza.Read(dec, tok.(xml.StartElement), 64)
			if err != nil {
				b.Fatal(err)
			}
			if err := sender.handleStanza(ctx, el); err != nil {
				b.Fatal(err)
			}
		}
	}
	if rcpt.n == 0 {
		b.Fatal("nothing delivered")
	}
}

// encodingResource encodes what it receives, as a session's writer would.
type encodingResource struct {
	j   jid.JID
	buf []byte
	n   int
}

func (r *encodingResource) JID() jid.JID                  { return r.j }
func (r *encodingResource) Available() (bool, int)        { return true, 0 }
func (r *encodingResource) LastPresence() *stanza.Element { return nil }
func (r *encodingResource) Send(st *stanza.Element) error {
	r.buf = st.AppendXML(r.buf[:0], stanza.NSClient)
	r.n++
	return nil
}
