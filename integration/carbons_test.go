package integration

import "testing"

// TestSlixmppCarbons drives XEP-0280 with slixmpp: received and sent
// copies, private and no-copy, bare-JID delivery, enable/disable.
func TestSlixmppCarbons(t *testing.T) {
	t.Parallel()
	cases := []string{"copies", "private", "bare"}
	s := startServer(t, serverOptions{})
	s.addCaseUsers(cases, "alice", "bob")
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s.in(t).runSlixmpp("carbons.py", c)
		})
	}
}
