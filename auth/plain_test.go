package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

// plainLogin runs a PLAIN exchange with an initial response.
func plainLogin(a *Accounts, user, password string) error {
	n, err := a.Start(MechPLAIN, true)
	if err != nil {
		return err
	}
	_, done, err := n.Next(context.Background(), []byte("\x00"+user+"\x00"+password))
	if err == nil && !done {
		return errors.New("not done")
	}
	return err
}

func TestPLAIN(t *testing.T) {
	a, kv := newTestAccounts(t)
	mustAdd(t, a, "juliet", "r0m30myr0m30")
	mustAdd(t, a, "nbsp", "pass\u00a0word")
	tests := []struct {
		name     string
		msg      string
		nilFirst bool // send no initial response first
		storeErr bool
		wantUser string // on success
		wantCond string // on failure
	}{
		{name: "success", msg: "\x00juliet\x00r0m30myr0m30", wantUser: "juliet"},
		{name: "after empty challenge", msg: "\x00juliet\x00r0m30myr0m30", nilFirst: true, wantUser: "juliet"},
		{name: "case mapped", msg: "\x00JuLiEt\x00r0m30myr0m30", wantUser: "juliet"},
		{name: "bare JID authcid", msg: "\x00juliet@example.com\x00r0m30myr0m30", wantUser: "juliet"},
		{name: "password prepared", msg: "\x00nbsp\x00pass word", wantUser: "nbsp"},
		{name: "authzid own JID", msg: "juliet@example.com\x00juliet\x00r0m30myr0m30", wantUser: "juliet"},
		{name: "authzid own JID unprepared", msg: "JULIET@Example.Com\x00juliet\x00r0m30myr0m30", wantUser: "juliet"},
		{name: "wrong password", msg: "\x00juliet\x00r0m30", wantCond: CondNotAuthorized},
		{name: "password case", msg: "\x00juliet\x00R0M30MYR0M30", wantCond: CondNotAuthorized},
		{name: "unknown user", msg: "\x00romeo\x00r0m30myr0m30", wantCond: CondNotAuthorized},
		{name: "other domain", msg: "\x00juliet@example.org\x00r0m30myr0m30", wantCond: CondNotAuthorized},
		{name: "invalid username", msg: "\x00jul iet\x00r0m30myr0m30", wantCond: CondNotAuthorized},
		{name: "password fails PRECIS", msg: "\x00juliet\x00r0m30\x07", wantCond: CondNotAuthorized},
		{name: "authzid other user", msg: "romeo@example.com\x00juliet\x00r0m30myr0m30", wantCond: CondInvalidAuthzid},
		{name: "authzid full JID", msg: "juliet@example.com/r\x00juliet\x00r0m30myr0m30", wantCond: CondInvalidAuthzid},
		{name: "authzid localpart only", msg: "juliet\x00juliet\x00r0m30myr0m30", wantCond: CondInvalidAuthzid},
		{name: "empty response", msg: "", wantCond: CondMalformedRequest},
		{name: "empty after empty challenge", msg: "", nilFirst: true, wantCond: CondMalformedRequest},
		{name: "no NUL", msg: "juliet", wantCond: CondMalformedRequest},
		{name: "one NUL", msg: "juliet\x00r0m30myr0m30", wantCond: CondMalformedRequest},
		{name: "three NULs", msg: "\x00juliet\x00r0m30\x00myr0m30", wantCond: CondMalformedRequest},
		{name: "empty authcid", msg: "\x00\x00r0m30myr0m30", wantCond: CondMalformedRequest},
		{name: "empty password", msg: "\x00juliet\x00", wantCond: CondMalformedRequest},
		{name: "invalid UTF-8", msg: "\x00juliet\x00r0m30\xff", wantCond: CondMalformedRequest},
		{name: "oversized", msg: "\x00juliet\x00" + strings.Repeat("x", maxMessage), wantCond: CondMalformedRequest},
		{name: "storage down", msg: "\x00juliet\x00r0m30myr0m30", storeErr: true, wantCond: CondTemporaryAuthFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.storeErr {
				kv.setErr(fmt.Errorf("memkv: %w", storage.ErrUnavailable))
				defer kv.setErr(nil)
			}
			n, err := a.Start(MechPLAIN, true)
			if err != nil {
				t.Fatal(err)
			}
			if tt.nilFirst {
				ch, done, err := n.Next(ctx, nil)
				if err != nil || done || ch == nil || len(ch) != 0 {
					t.Fatalf("Next(nil) = %q, %v, %v; want an empty challenge", ch, done, err)
				}
			}
			data, done, err := n.Next(ctx, []byte(tt.msg))
			if tt.wantCond != "" {
				if !isCondition(err, tt.wantCond) || done {
					t.Fatalf("Next(%q) = %v, %v; want %s", tt.msg, done, err, tt.wantCond)
				}
				if n.Username() != "" {
					t.Errorf("Username() = %q after failure", n.Username())
				}
			} else {
				if err != nil || !done || data != nil {
					t.Fatalf("Next(%q) = %q, %v, %v; want done without data", tt.msg, data, done, err)
				}
				if n.Username() != tt.wantUser {
					t.Errorf("Username() = %q, want %q", n.Username(), tt.wantUser)
				}
			}
			if _, _, err := n.Next(ctx, []byte(tt.msg)); !isCondition(err, CondMalformedRequest) {
				t.Errorf("Next after the end = %v, want malformed-request", err)
			}
		})
	}
}

func TestStartAndMechanisms(t *testing.T) {
	a, _ := newTestAccounts(t)
	if got, want := a.Mechanisms(false), []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}; !slices.Equal(got, want) {
		t.Errorf("Mechanisms(false) = %q, want %q", got, want)
	}
	if got, want := a.Mechanisms(true), []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}; !slices.Equal(got, want) {
		t.Errorf("Mechanisms(true) = %q, want %q", got, want)
	}
	tests := []struct {
		mech     string
		secure   bool
		wantCond string
	}{
		{mech: "SCRAM-SHA-256"},
		{mech: "SCRAM-SHA-1"},
		{mech: "SCRAM-SHA-256", secure: true},
		{mech: "PLAIN", secure: true},
		{mech: "PLAIN", wantCond: CondEncryptionRequired},
		{mech: "SCRAM-SHA-256-PLUS", secure: true, wantCond: CondInvalidMechanism},
		{mech: "SCRAM-SHA-1-PLUS", secure: true, wantCond: CondInvalidMechanism},
		{mech: "DIGEST-MD5", secure: true, wantCond: CondInvalidMechanism},
		{mech: "scram-sha-256", secure: true, wantCond: CondInvalidMechanism},
		{mech: "", secure: true, wantCond: CondInvalidMechanism},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s secure=%v", tt.mech, tt.secure), func(t *testing.T) {
			n, err := a.Start(tt.mech, tt.secure)
			if tt.wantCond == "" {
				if err != nil || n == nil {
					t.Fatalf("Start = %v, %v", n, err)
				}
				if !slices.Contains(a.Mechanisms(tt.secure), tt.mech) {
					t.Errorf("started %s, which is not offered", tt.mech)
				}
				return
			}
			if !isCondition(err, tt.wantCond) || n != nil {
				t.Fatalf("Start = %v, %v; want %s", n, err, tt.wantCond)
			}
		})
	}
}

func TestFailureError(t *testing.T) {
	cause := errors.New("disk on fire")
	tests := []struct {
		f    *Failure
		want string
	}{
		{f: &Failure{Condition: "not-authorized"}, want: "auth: not-authorized"},
		{f: &Failure{Condition: "not-authorized", Text: "invalid-proof"}, want: "auth: not-authorized: invalid-proof"},
		{f: &Failure{Condition: "temporary-auth-failure", Err: cause}, want: "auth: temporary-auth-failure: disk on fire"},
	}
	for _, tt := range tests {
		if got := tt.f.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(tests[2].f, cause) {
		t.Error("Failure does not unwrap to its cause")
	}
}
