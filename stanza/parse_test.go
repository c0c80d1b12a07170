package stanza

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            bool
	}{
		{name: "round trip", in: `<message xmlns='jabber:client' to='a@b'><body>hi &amp; bye</body><x xmlns='urn:x'/></message>`,
			want: `<message xmlns='jabber:client' to='a@b'><body>hi &amp; bye</body><x xmlns='urn:x'/></message>`},
		{name: "leading space", in: "  <a xmlns='urn:a'/>", want: `<a xmlns='urn:a'/>`},
		{name: "empty", in: "", err: true},
		{name: "truncated", in: "<a xmlns='urn:a'><b>", err: true},
		{name: "too deep", in: "<a><b><c><d/></c></b></a>", err: true},
	}
	for _, tt := range tests {
		el, err := Parse([]byte(tt.in), 3)
		if (err != nil) != tt.err {
			t.Errorf("%s: Parse(%q) error %v, want error %v", tt.name, tt.in, err, tt.err)
			continue
		}
		if err == nil && el.String() != tt.want {
			t.Errorf("%s: Parse(%q) = %s, want %s", tt.name, tt.in, el, tt.want)
		}
	}
}
