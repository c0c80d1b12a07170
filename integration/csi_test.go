package integration

import "testing"

// TestSlixmppClientStateIndication drives XEP-0352 with slixmpp: the
// stream feature, presence and typing held and collapsed while the client
// is inactive, a message with a body delivered at once after what was
// held, only the latest of each on <active/>, the same with XEP-0198 on,
// and an unknown element in the namespace ending the stream.
func TestSlixmppClientStateIndication(t *testing.T) {
	t.Parallel()
	cases := []string{"plain", "sm", "bad"}
	s := startServer(t, serverOptions{})
	s.addCaseUsers(cases, "alice", "bob")
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s.in(t).runSlixmpp("csi.py", c)
		})
	}
}
