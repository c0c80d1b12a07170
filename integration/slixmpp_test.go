package integration

import "testing"

func TestSlixmppLoginAndMessage(t *testing.T) {
	s := startServer(t, serverOptions{users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	s.runSlixmpp("login_message.py")
}
