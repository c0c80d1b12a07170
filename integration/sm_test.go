package integration

import "testing"

// TestSlixmppStreamManagement drives XEP-0198 with slixmpp: acks both
// ways, resumption after the TCP connection is killed mid-conversation,
// refused resumption, and the resume timeout (its own server, with a one
// second timeout) rerouting to offline storage.
func TestSlixmppStreamManagement(t *testing.T) {
	t.Parallel()
	cases := []string{"acks", "resume", "refused"}
	s := startServer(t, serverOptions{})
	s.addCaseUsers(cases, "alice", "bob")
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s.in(t).runSlixmpp("sm.py", c)
		})
	}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{config: "[c2s]\nresume_timeout = \"1s\"\n"})
		s.addCaseUsers([]string{"timeout"}, "alice", "bob")
		s.in(t).runSlixmpp("sm.py", "timeout")
	})
}
