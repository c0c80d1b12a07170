package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

var clientFirstSeeds = []string{
	"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	"y,a=juliet@example.com,n=juliet,r=abc,x=ext",
	"p=tls-unique,,n=user,r=abc",
	"n,,m=ext,n=user,r=abc",
	"n,a=a=2Cb=3Dc,n=a=2cb,r=abc",
	"n,,n=user=",
	"n,,n=us=2",
	",,",
	"n,",
	"",
}

var clientFinalSeeds = []string{
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	"c=biws,r=abc,x=y,p=AAAA",
	"c=biws,r=abc,m=y,p=AAAA",
	"c=,r=,p=",
	"c=biws,p=AAAA",
	",,",
	"",
}

func FuzzParseClientFirst(f *testing.F) {
	for _, s := range clientFirstSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		cf, fl := parseClientFirst(msg)
		if fl != nil {
			if fl.Condition != CondMalformedRequest {
				t.Fatalf("parseClientFirst(%q) failed with %s", msg, fl.Condition)
			}
			return
		}
		if cf.gs2Header+cf.bare != msg {
			t.Fatalf("parseClientFirst(%q): header %q + bare %q is not the message", msg, cf.gs2Header, cf.bare)
		}
		if cf.username == "" || !validNonce(cf.nonce) {
			t.Fatalf("parseClientFirst(%q) accepted username %q nonce %q", msg, cf.username, cf.nonce)
		}
		if !strings.HasPrefix(cf.bare, "n=") {
			t.Fatalf("parseClientFirst(%q): bare %q does not start with n=", msg, cf.bare)
		}
	})
}

func FuzzParseClientFinal(f *testing.F) {
	for _, s := range clientFinalSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		cf, fl := parseClientFinal(msg)
		if fl != nil {
			if fl.Condition != CondMalformedRequest {
				t.Fatalf("parseClientFinal(%q) failed with %s", msg, fl.Condition)
			}
			return
		}
		if !strings.HasPrefix(msg, cf.withoutProof+",p=") || len(cf.proof) == 0 || !validNonce(cf.nonce) {
			t.Fatalf("parseClientFinal(%q) = %+v", msg, cf)
		}
	})
}

// FuzzSCRAMServer drives a whole negotiation with arbitrary client
// messages: it must never panic, and every error must be a *Failure.
func FuzzSCRAMServer(f *testing.F) {
	for _, s := range clientFirstSeeds {
		f.Add([]byte(s), []byte(clientFinalSeeds[0]))
	}
	for _, s := range clientFinalSeeds {
		f.Add([]byte(clientFirstSeeds[0]), []byte(s))
	}
	a, _ := newTestAccounts(f)
	mustAdd(f, a, "user", "pencil")
	f.Fuzz(func(t *testing.T, first, final []byte) {
		ctx := context.Background()
		for _, mech := range []string{MechSCRAMSHA1, MechSCRAMSHA256} {
			n, err := a.Start(mech, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range [][]byte{first, final, final} {
				_, done, err := n.Next(ctx, msg)
				var fl *Failure
				if err != nil && !errors.As(err, &fl) {
					t.Fatalf("Next(%q) error %T %v is not a *Failure", msg, err, err)
				}
				if done {
					t.Fatalf("random input %q, %q authenticated", first, final)
				}
				if err != nil {
					break
				}
			}
		}
	})
}

func FuzzPLAIN(f *testing.F) {
	f.Add([]byte("\x00user\x00pencil"))
	f.Add([]byte("user@example.com\x00user\x00pencil"))
	f.Add([]byte("\x00\x00"))
	a, _ := newTestAccounts(f)
	mustAdd(f, a, "user", "pencil")
	f.Fuzz(func(t *testing.T, msg []byte) {
		n, err := a.Start(MechPLAIN, true)
		if err != nil {
			t.Fatal(err)
		}
		_, done, err := n.Next(context.Background(), msg)
		var fl *Failure
		if err != nil && !errors.As(err, &fl) {
			t.Fatalf("Next(%q) error %T %v is not a *Failure", msg, err, err)
		}
		if done && !strings.Contains(string(msg), "\x00pencil") {
			t.Fatalf("Next(%q) authenticated without the password", msg)
		}
	})
}
