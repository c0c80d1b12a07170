package integration

import "testing"

// Privacy lists (XEP-0016) with incremental updates and the blocking
// command (XEP-0191), driven with slixmpp.

func privacyUsers() map[string]string {
	return map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}
}

func TestSlixmppPrivacyLists(t *testing.T) {
	s := startServer(t, serverOptions{users: privacyUsers()})
	s.runSlixmpp("privacy_lists.py")
}

func TestSlixmppPrivacyBlocking(t *testing.T) {
	s := startServer(t, serverOptions{users: privacyUsers()})
	s.runSlixmpp("privacy_blocking.py")
}
