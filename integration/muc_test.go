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

func TestSlixmppMUCInvitesAndVoice(t *testing.T) {
	s := startServer(t, serverOptions{users: mucUsers()})
	s.runSlixmpp("muc_social.py")
}

func TestSlixmppMUCPersistence(t *testing.T) {
	s := startServer(t, serverOptions{users: mucUsers()})
	s.runSlixmpp("muc_persist.py", "before")
	s.restart()
	s.runSlixmpp("muc_persist.py", "after")
	// Restarting once more: the room made temporary is not restored.
	s.restart()
	s.runSlixmpp("muc_persist.py", "gone")
}

func TestSlixmppMUCLimits(t *testing.T) {
	s := startServer(t, serverOptions{users: mucUsers(), config: `[muc]
max_occupants = 3
max_rooms_per_user = 2
messages_per_second = 0.01
message_burst = 3
max_message_bytes = 100
`})
	s.runSlixmpp("muc_limits.py")
}

func TestSlixmppMUCArchiveAndOccupantIQ(t *testing.T) {
	s := startServer(t, serverOptions{users: mucUsers()})
	s.runSlixmpp("muc_mam.py")
}
