package integration

import "testing"

// The multi-user chat scenarios of XEP-0045, driven with slixmpp's
// xep_0045 plugin.

func mucUsers() map[string]string {
	return map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw", "erin": "erin-pw"}
}

func TestSlixmppMUCBasic(t *testing.T) {
	s := startServer(t, serverOptions{users: mucUsers()})
	s.runSlixmpp("muc_basic.py")
}

func TestSlixmppMUCAdmin(t *testing.T) {
	s := startServer(t, serverOptions{users: mucUsers()})
	s.runSlixmpp("muc_admin.py")
}
