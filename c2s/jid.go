package c2s

import (
	"errors"
	"strings"

	"mellium.im/xmpp/jid"
)

var errEmptyLabel = errors.New("c2s: domainpart has an empty label")

// ParseJID parses and normalises an address from the wire (RFC 7622) and
// refuses what would not survive a second parse. mellium's jid.Parse strips
// one trailing dot from the domainpart, as RFC 7622 §3.2 says, so
// "a@example.net.." becomes "a@example.net." — a domain with an empty
// label that parses again to something else (found by FuzzJID). Such an
// address is malformed; accepting it would put two spellings of one JID in
// the directory and in stored documents.
func ParseJID(s string) (jid.JID, error) {
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, err
	}
	if d := j.Domainpart(); strings.HasSuffix(d, ".") || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return jid.JID{}, errEmptyLabel
	}
	return j, nil
}
