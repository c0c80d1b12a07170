package stanza

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

// parse reads the first element of s as a stanza inside a jabber:client stream.
func parse(t testing.TB, s string, maxDepth int) (*Element, error) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader("<stream xmlns='jabber:client'>" + s))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if st, ok := tok.(xml.StartElement); ok {
			return Read(d, st, maxDepth)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain message", in: `<message to='a@b' type='chat'><body>hi</body></message>`,
			want: `<message to='a@b' type='chat'><body>hi</body></message>`},
		{name: "payload namespace", in: `<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`,
			want: `<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`},
		{name: "prefixed child becomes default", in: `<message><x:e xmlns:x='urn:x'><x:f/></x:e></message>`,
			want: `<message><e xmlns='urn:x'><f/></e></message>`},
		{name: "mixed content kept", in: `<message><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>a <b>b</b> c</body></html></message>`,
			want: `<message><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>a <b>b</b> c</body></html></message>`},
		{name: "escaping", in: `<message><body>&lt;x&gt; &amp; &apos;q&apos; "d"</body></message>`,
			want: `<message><body>&lt;x&gt; &amp; 'q' "d"</body></message>`},
		{name: "attribute escaping", in: `<message id="a'&quot;&lt;"/>`, want: `<message id='a&apos;&quot;&lt;'/>`},
		{name: "xml lang", in: `<message xml:lang='en'/>`, want: `<message xml:lang='en'/>`},
		{name: "namespaced attribute", in: `<message xmlns:p='urn:p' p:a='1'/>`, want: `<message xmlns:ns1='urn:p' ns1:a='1'/>`},
		{name: "char refs", in: `<message><body>&#x263A;&#65;</body></message>`, want: "<message><body>\u263aA</body></message>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parse(t, tt.in, 10)
			if err != nil {
				t.Fatalf("Read(%q): %v", tt.in, err)
			}
			if got := string(e.AppendXML(nil, NSClient)); got != tt.want {
				t.Errorf("AppendXML = %s, want %s", got, tt.want)
			}
			// What we encode must parse back to the same encoding.
			again, err := parse(t, tt.want, 10)
			if err != nil {
				t.Fatalf("re-Read(%q): %v", tt.want, err)
			}
			if got := string(again.AppendXML(nil, NSClient)); got != tt.want {
				t.Errorf("second round = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReadLimits(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		depth   int
		wantErr error
	}{
		{name: "depth ok", in: `<a><b><c/></b></a>`, depth: 3},
		{name: "too deep", in: `<a><b><c><d/></c></b></a>`, depth: 3, wantErr: ErrTooDeep},
		{name: "comment", in: `<a><!-- x --></a>`, depth: 3, wantErr: ErrRestricted},
		{name: "processing instruction", in: `<a><?pi x?></a>`, depth: 3, wantErr: ErrRestricted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.in, tt.depth)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Read(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestUndefinedEntityRefused(t *testing.T) {
	if _, err := parse(t, `<message><body>&xxe;</body></message>`, 10); err == nil {
		t.Fatal("Read accepted an undefined entity")
	}
}

func TestAccessors(t *testing.T) {
	e := New(NSClient, "message", "to", "a@b", "type", "")
	if e.Has("type") {
		t.Error("empty attribute value was set")
	}
	e.Set("id", "x")
	e.Set("to", "c@d")
	if got := e.Get("to"); got != "c@d" {
		t.Errorf("Get(to) = %q", got)
	}
	e.Set("id", "")
	if e.Has("id") {
		t.Error("Set(id, \"\") did not remove")
	}
	e.Append(New("urn:a", "x"), New("urn:b", "y"))
	if e.Child("urn:b", "y") == nil || e.Child("urn:c", "") != nil {
		t.Error("Child lookup wrong")
	}
	c := e.Copy()
	c.Set("to", "z@z")
	c.Children[0].Elem.Set("k", "v")
	if e.Get("to") != "c@d" || e.Children[0].Elem.Has("k") {
		t.Error("Copy shares state with the original")
	}
	if n := e.RemoveChildren("urn:a", ""); n != 1 || len(e.Elements()) != 1 {
		t.Errorf("RemoveChildren removed %d, left %d", n, len(e.Elements()))
	}
}

func FuzzRead(f *testing.F) {
	f.Add(`<message to='a@b'><body>x</body></message>`)
	f.Add(`<iq><query xmlns='jabber:iq:roster'><item jid='x'/></query></iq>`)
	f.Add(`<a xmlns:p='urn:p' p:a='&amp;'>t<b/>u</a>`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parse(t, s, 16)
		if err != nil {
			return
		}
		// Whatever we accepted must encode to something we accept again,
		// with the same encoding (a fixed point after one round).
		enc := string(e.AppendXML(nil, NSClient))
		again, err := parse(t, enc, 17)
		if err != nil {
			t.Fatalf("re-Read(%q) of encoding of %q: %v", enc, s, err)
		}
		if enc2 := string(again.AppendXML(nil, NSClient)); enc2 != enc {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

func BenchmarkReadEncode(b *testing.B) {
	const msg = `<message to='bob@example.net/phone' type='chat' id='m1'><body>Are you coming to the game tonight?</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`
	b.ReportAllocs()
	var buf []byte
	for i := 0; i < b.N; i++ {
		e, err := parse(b, msg, 16)
		if err != nil {
			b.Fatal(err)
		}
		buf = e.AppendXML(buf[:0], NSClient)
	}
}
