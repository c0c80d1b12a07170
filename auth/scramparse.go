package auth

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Parsers for the client's SCRAM messages (RFC 5802 §7). They take any
// input without panicking and report syntax errors as malformed-request
// with the RFC 5802 server-error-value as text where one applies.

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	gs2Header string // gs2-cbind-flag "," [authzid] ","
	cbName    string // the channel binding type of a "p=" flag, else ""
	authzid   string // unescaped
	username  string // unescaped, not yet prepared
	nonce     string
	bare      string // client-first-message-bare, for the AuthMessage
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	channelBinding []byte // decoded c=
	nonce          string
	proof          []byte // decoded p=
	withoutProof   string // client-final-message-without-proof
}

func malformed(text string) *Failure { return fail(CondMalformedRequest, text) }

func checkText(msg string) *Failure {
	if !utf8.ValidString(msg) || strings.IndexByte(msg, 0) >= 0 {
		return malformed("invalid-encoding")
	}
	return nil
}

func parseClientFirst(msg string) (clientFirst, *Failure) {
	var cf clientFirst
	if f := checkText(msg); f != nil {
		return cf, f
	}
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return cf, malformed("missing gs2 header")
	}
	switch {
	case flag == "n" || flag == "y":
	case strings.HasPrefix(flag, "p="):
		cf.cbName = flag[2:]
		if !validCBName(cf.cbName) {
			return cf, malformed("invalid channel binding name")
		}
	default:
		return cf, malformed("invalid gs2 channel binding flag")
	}
	az, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return cf, malformed("missing gs2 header")
	}
	if az != "" {
		name, ok := strings.CutPrefix(az, "a=")
		if !ok {
			return cf, malformed("invalid authzid")
		}
		if cf.authzid, ok = decodeSaslname(name); !ok {
			return cf, malformed("invalid-encoding")
		}
	}
	cf.gs2Header = msg[:len(msg)-len(bare)]
	cf.bare = bare

	attrs := strings.Split(bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		return cf, malformed("extensions-not-supported")
	}
	if len(attrs) < 2 {
		return cf, malformed("missing username or nonce")
	}
	name, ok := strings.CutPrefix(attrs[0], "n=")
	if !ok {
		return cf, malformed("missing username")
	}
	if cf.username, ok = decodeSaslname(name); !ok {
		return cf, malformed("invalid-username-encoding")
	}
	if cf.nonce, ok = strings.CutPrefix(attrs[1], "r="); !ok || !validNonce(cf.nonce) {
		return cf, malformed("missing or invalid nonce")
	}
	if f := checkExtensions(attrs[2:]); f != nil {
		return cf, f
	}
	return cf, nil
}

func parseClientFinal(msg string) (clientFinal, *Failure) {
	var cf clientFinal
	if f := checkText(msg); f != nil {
		return cf, f
	}
	attrs := strings.Split(msg, ",")
	if len(attrs) < 3 {
		return cf, malformed("want channel binding, nonce and proof")
	}
	cb, ok := strings.CutPrefix(attrs[0], "c=")
	if !ok {
		return cf, malformed("missing channel binding")
	}
	var err error
	if cf.channelBinding, err = base64.StdEncoding.Strict().DecodeString(cb); err != nil {
		return cf, malformed("invalid-encoding")
	}
	if cf.nonce, ok = strings.CutPrefix(attrs[1], "r="); !ok || !validNonce(cf.nonce) {
		return cf, malformed("missing or invalid nonce")
	}
	last := attrs[len(attrs)-1]
	proof, ok := strings.CutPrefix(last, "p=")
	if !ok {
		return cf, malformed("missing proof")
	}
	if cf.proof, err = base64.StdEncoding.Strict().DecodeString(proof); err != nil || len(cf.proof) == 0 {
		return cf, malformed("invalid-encoding")
	}
	if f := checkExtensions(attrs[2 : len(attrs)-1]); f != nil {
		return cf, f
	}
	cf.withoutProof = msg[:len(msg)-len(last)-1]
	return cf, nil
}

// checkExtensions accepts attr-val extensions (ALPHA "=" 1*value-char) and
// ignores them, except the reserved "m", which must fail (RFC 5802 §5.1).
func checkExtensions(attrs []string) *Failure {
	for _, a := range attrs {
		if len(a) < 3 || a[1] != '=' || !isAlpha(a[0]) {
			return malformed("invalid attribute")
		}
		if a[0] == 'm' {
			return malformed("extensions-not-supported")
		}
	}
	return nil
}

// decodeSaslname undoes the escaping of saslname: "=2C" is ',' and "=3D"
// is '='; any other '=' is an error (RFC 5802 §5.1). ABNF literals are
// case-insensitive, so "=2c" and "=3d" are accepted too. The result must
// not be empty.
func decodeSaslname(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if strings.IndexByte(s, '=') < 0 {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		switch strings.ToUpper(s[i+1 : i+3]) {
		case "2C":
			b.WriteByte(',')
		case "3D":
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// validNonce: 1*printable, printable = %x21-2B / %x2D-7E (no ',').
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// validCBName: 1*(ALPHA / DIGIT / "." / "-") (RFC 5056 §7).
func validCBName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && (c < '0' || c > '9') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
