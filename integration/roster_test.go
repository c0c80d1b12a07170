package integration

import "testing"

// The roster scenarios of RFC 6121 and XEP-0237, driven with slixmpp.

func rosterUsers() map[string]string {
	return map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}
}

func TestSlixmppRosterItems(t *testing.T) {
	s := startServer(t, serverOptions{users: rosterUsers()})
	s.runSlixmpp("roster_items.py")
}

func TestSlixmppRosterSubscriptions(t *testing.T) {
	s := startServer(t, serverOptions{users: rosterUsers()})
	s.runSlixmpp("roster_subscribe.py")
}

func TestSlixmppRosterLogin(t *testing.T) {
	s := startServer(t, serverOptions{users: rosterUsers()})
	s.runSlixmpp("roster_login.py")
}
