package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/admin"
)

func TestSlixmppLoginAndMessage(t *testing.T) {
	s := startServer(t, serverOptions{users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	s.runSlixmpp("login_message.py")
}

// TestSlixmppAuth logs in with each SASL mechanism over STARTTLS and over
// direct TLS, and checks that a wrong password and an unknown user both
// get not-authorized (RFC 6120 §6.5.10) with every mechanism, SCRAM
// included (an unknown user must not be told apart by the exchange).
func TestSlixmppAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: map[string]string{"alice": "alice-pw"}})
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"} {
		for _, transport := range []string{"starttls", "direct"} {
			t.Run(mech+"/"+transport, func(t *testing.T) {
				s.in(t).runSlixmpp("login.py", "alice", "alice-pw", "ok", mech, transport)
			})
		}
		t.Run(mech+"/wrong-password", func(t *testing.T) {
			s.in(t).runSlixmpp("login.py", "alice", "not-her-pw", "not-authorized", mech)
		})
		t.Run(mech+"/unknown-user", func(t *testing.T) {
			s.in(t).runSlixmpp("login.py", "nobody", "alice-pw", "not-authorized", mech)
		})
	}
}

// in returns s reporting to t, so that subtests sharing one server fail
// and log on their own.
func (s *server) in(t testing.TB) *server {
	c := *s
	c.t = t
	return &c
}

// addCaseUsers creates, through the running server's admin API (one
// process start per account would cost a second each under -race), the
// accounts the slix scripts name "<case>-<name>", password "pw".
func (s *server) addCaseUsers(cases []string, names ...string) {
	s.t.Helper()
	api := &admin.Client{BaseURL: "http://" + s.httpAddr, Token: s.adminToken()}
	for _, c := range cases {
		for _, n := range names {
			if err := api.AddUser(context.Background(), c+"-"+n+"@"+s.domain, "pw"); err != nil {
				s.t.Fatalf("adding %s-%s: %v", c, n, err)
			}
		}
	}
}

// TestSlixmppRouting checks RFC 6121 §8 routing on the wire: priorities,
// unavailable full JIDs, users without resources, unknown users, other
// domains, IQs between users, and no bounce of error stanzas.
func TestSlixmppRouting(t *testing.T) {
	t.Parallel()
	cases := []string{"priorities", "unavailable_full_jid", "offline", "iq_between_users"}
	s := startServer(t, serverOptions{})
	s.addCaseUsers(cases, "alice", "bob", "carol")
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s.in(t).runSlixmpp("routing.py", c)
		})
	}
}

// TestSlixmppSessions checks resource binding (conflict, generated
// resources) and presence among one user's own resources.
func TestSlixmppSessions(t *testing.T) {
	t.Parallel()
	cases := []string{"conflict", "generated_resource", "own_presence"}
	s := startServer(t, serverOptions{})
	s.addCaseUsers(cases, "alice", "bob")
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			s.in(t).runSlixmpp("sessions.py", c)
		})
	}
	t.Run("services", func(t *testing.T) {
		t.Parallel()
		s.addCaseUsers([]string{"services"}, "alice")
		s.in(t).runSlixmpp("services.py")
	})
}

// TestSlixmppCLI manages accounts with the xmppd CLI while the server runs
// (the CLI goes through the admin API, since the running server holds the
// store) and checks each change on the wire.
func TestSlixmppCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: map[string]string{"alice": "alice-pw"}})
	dave := "dave@" + s.domain

	s.ctl("user", "add", dave, "--password", "first-pw")
	// The running server holds the store: the CLI must have gone through
	// its admin API.
	if !s.waitLog("admin api: user added", 5*time.Second) {
		t.Errorf("the server did not log the API call for user add")
	}
	if out := s.ctl("user", "list"); !containsLine(out, dave) || !containsLine(out, "alice@"+s.domain) {
		t.Fatalf("user list after add:\n%s", out)
	}
	s.runSlixmpp("login.py", "dave", "first-pw", "ok")

	if out, err := s.ctlErr("user", "add", dave, "--password", "other"); err == nil {
		t.Errorf("adding an existing user succeeded:\n%s", out)
	}

	s.ctl("user", "passwd", dave, "--password", "second-pw")
	s.runSlixmpp("login.py", "dave", "first-pw", "not-authorized", "SCRAM-SHA-256")
	s.runSlixmpp("login.py", "dave", "second-pw", "ok", "SCRAM-SHA-1")
	s.runSlixmpp("login.py", "dave", "second-pw", "ok", "PLAIN")

	s.ctl("user", "del", dave)
	if out := s.ctl("user", "list"); containsLine(out, dave) || !containsLine(out, "alice@"+s.domain) {
		t.Fatalf("user list after del:\n%s", out)
	}
	s.runSlixmpp("login.py", "dave", "second-pw", "not-authorized", "PLAIN")
	s.runSlixmpp("login.py", "alice", "alice-pw", "ok")
}

func containsLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// TestSlixmppRegistration checks XEP-0077 in-band registration: when
// [c2s] allow_registration is on, a new account is created and logs in;
// when off, the attempt is refused and the account does not exist.
func TestSlixmppRegistration(t *testing.T) {
	t.Parallel()
	t.Run("enabled", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{config: "[c2s]\nallow_registration = true\n"})
		s.runSlixmpp("register.py", "newbie", "newbie-pw", "allowed")
		s.runSlixmpp("login.py", "newbie", "newbie-pw", "ok", "SCRAM-SHA-256")
		if out := s.ctl("user", "list"); !containsLine(out, "newbie@"+s.domain) {
			t.Errorf("registered account missing from user list:\n%s", out)
		}
	})
	t.Run("toggle", func(t *testing.T) {
		// The registration toggle names the one account that may be
		// created: another name gets <not-allowed/>.
		t.Parallel()
		s := startServer(t, serverOptions{config: "[c2s]\nallow_registration = true\n\n[toggles.registration]\nusers = [\"vip@localhost\"]\n"})
		s.runSlixmpp("register.py", "nobody", "nobody-pw", "not-allowed")
		s.runSlixmpp("register.py", "vip", "vip-pw", "allowed")
		if out := s.ctl("user", "list"); containsLine(out, "nobody@"+s.domain) || !containsLine(out, "vip@"+s.domain) {
			t.Errorf("registration toggle: user list\n%s", out)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, serverOptions{})
		s.runSlixmpp("register.py", "newbie", "newbie-pw", "refused")
		s.runSlixmpp("login.py", "newbie", "newbie-pw", "not-authorized", "PLAIN")
		if out := s.ctl("user", "list"); containsLine(out, "newbie@"+s.domain) {
			t.Errorf("account created although registration is off:\n%s", out)
		}
	})
}
