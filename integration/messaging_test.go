package integration

import "testing"

// Message archive (XEP-0313), vCards (XEP-0054, XEP-0153), last activity
// (XEP-0012), chat states, receipts and markers, driven with slixmpp.

func messagingUsers() map[string]string {
	return map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}
}

func TestSlixmppMAMArchive(t *testing.T) {
	s := startServer(t, serverOptions{users: messagingUsers()})
	s.runSlixmpp("mam_archive.py")
}

func TestSlixmppMAMPreferences(t *testing.T) {
	s := startServer(t, serverOptions{users: messagingUsers()})
	s.runSlixmpp("mam_prefs.py")
}

func TestSlixmppVCard(t *testing.T) {
	s := startServer(t, serverOptions{users: messagingUsers(), config: "[vcard]\nmax_bytes = 4096\n"})
	s.runSlixmpp("vcard_avatar.py")
}

func TestSlixmppLastActivity(t *testing.T) {
	s := startServer(t, serverOptions{users: messagingUsers()})
	s.runSlixmpp("lastactivity.py")
}

func TestSlixmppChatStatesReceiptsMarkers(t *testing.T) {
	s := startServer(t, serverOptions{users: messagingUsers()})
	s.runSlixmpp("chatstates.py")
}
