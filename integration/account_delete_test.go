package integration

import "testing"

// TestAccountDeleteRemovesEverything: an account deleted with the CLI
// while the server runs (through the admin API) and created again under
// the same name inherits nothing: roster, offline messages and vCard are
// gone, and its contact's subscription to it was cancelled.
func TestAccountDeleteRemovesEverything(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	s.runSlixmpp("account_delete.py", "setup")
	if t.Failed() {
		return
	}
	s.ctl("user", "del", "alice@"+s.domain)
	if out, err := s.ctlErr("user", "del", "alice@"+s.domain); err == nil {
		t.Errorf("deleting alice twice succeeded:\n%s", out)
	}
	s.ctl("user", "add", "alice@"+s.domain, "--password", "new-pw")
	s.runSlixmpp("account_delete.py", "verify")
}
