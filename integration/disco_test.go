package integration

import "testing"

// TestSlixmppDiscoAudit checks with slixmpp that the server, an account
// and the MUC service advertise in disco#info exactly the features that
// are implemented, and that each IQ-based one is served (issue 10).
func TestSlixmppDiscoAudit(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.addCaseUsers([]string{"audit"}, "alice", "bob")
	s.runSlixmpp("disco_audit.py")
}
