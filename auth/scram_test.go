package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

const testDomain = "example.com"

func newTestAccounts(t testing.TB) (*Accounts, *memKV) {
	t.Helper()
	kv := newMemKV()
	return NewAccounts(kv, testDomain, Config{}), kv
}

func mustAdd(t testing.TB, a *Accounts, user, password string) {
	t.Helper()
	if err := a.Add(context.Background(), user, password); err != nil {
		t.Fatalf("Add(%q): %v", user, err)
	}
}

func fixedNonce(a *Accounts, n string) {
	a.nonce = func() (string, error) { return n, nil }
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putRFCUser stores user "user" with password "pencil" under the salts of
// the RFC 5802 §5 and RFC 7677 §3 examples.
func putRFCUser(t *testing.T, a *Accounts) {
	t.Helper()
	r := &record{
		Version: recordVersion,
		SHA1:    sha1Alg.deriveKeys("pencil", mustB64(t, "QSXCR+Q6sek8bf92"), 4096),
		SHA256:  sha256Alg.deriveKeys("pencil", mustB64(t, "W22ZaJ0SNY7soEsUEjb6gQ=="), 4096),
	}
	b, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.kv.Put(context.Background(), a.key("user"), b); err != nil {
		t.Fatal(err)
	}
}

// TestSCRAMRFCExamples replays the example exchanges of RFC 5802 §5
// (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256) byte for byte.
func TestSCRAMRFCExamples(t *testing.T) {
	tests := []struct {
		name, mech, snonce string
		transcript         [4]string // C, S, C, S
	}{
		{
			name: "RFC 5802", mech: MechSCRAMSHA1, snonce: "3rfcNHYJY1ZVvWVs7j",
			transcript: [4]string{
				"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
				"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
				"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
				"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
			},
		},
		{
			name: "RFC 7677", mech: MechSCRAMSHA256, snonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			transcript: [4]string{
				"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
				"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
				"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
				"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			a, _ := newTestAccounts(t)
			putRFCUser(t, a)
			fixedNonce(a, tt.snonce)
			n, err := a.Start(tt.mech, false)
			if err != nil {
				t.Fatal(err)
			}
			got, done, err := n.Next(ctx, []byte(tt.transcript[0]))
			if err != nil || done || string(got) != tt.transcript[1] {
				t.Fatalf("client-first: got %q, %v, %v; want %q", got, done, err, tt.transcript[1])
			}
			got, done, err = n.Next(ctx, []byte(tt.transcript[2]))
			if err != nil || !done || string(got) != tt.transcript[3] {
				t.Fatalf("client-final: got %q, %v, %v; want %q", got, done, err, tt.transcript[3])
			}
			if n.Username() != "user" {
				t.Errorf("Username() = %q, want user", n.Username())
			}

			// The test client, fed the same nonces, produces the same
			// messages: it is the reference for the other tests.
			c := &scramClient{h: map[string]*hashAlg{MechSCRAMSHA1: sha1Alg, MechSCRAMSHA256: sha256Alg}[tt.mech],
				user: "user", password: "pencil", cnonce: strings.TrimPrefix(tt.transcript[0], "n,,n=user,r=")}
			if got := c.first(); got != tt.transcript[0] {
				t.Errorf("client first = %q, want %q", got, tt.transcript[0])
			}
			final, err := c.final(tt.transcript[1])
			if err != nil || final != tt.transcript[2] {
				t.Errorf("client final = %q, %v; want %q", final, err, tt.transcript[2])
			}
			if err := c.verify(tt.transcript[3]); err != nil {
				t.Error(err)
			}
		})
	}
}

// exchange runs a SCRAM exchange between c and a, passing each client
// message through the optional edits. It returns the step that failed (0
// on success, 1 at client-first, 2 at client-final) and the error.
func exchange(ctx context.Context, a *Accounts, mech string, c *scramClient, editFirst, editFinal func(string) string) (Negotiation, int, error) {
	n, err := a.Start(mech, true)
	if err != nil {
		return nil, 0, err
	}
	first := c.first()
	if editFirst != nil {
		first = editFirst(first)
	}
	sf, done, err := n.Next(ctx, []byte(first))
	if err != nil {
		return n, 1, err
	}
	if done {
		return n, 1, errors.New("done after client-first")
	}
	final, err := c.final(string(sf))
	if err != nil {
		return n, 1, fmt.Errorf("client: %w", err)
	}
	if editFinal != nil {
		final = editFinal(final)
	}
	v, done, err := n.Next(ctx, []byte(final))
	if err != nil {
		return n, 2, err
	}
	if !done {
		return n, 2, errors.New("not done after client-final")
	}
	if err := c.verify(string(v)); err != nil {
		return n, 2, fmt.Errorf("client: %w", err)
	}
	return n, 0, nil
}

func TestSCRAMSuccess(t *testing.T) {
	ctx := context.Background()
	a, _ := newTestAccounts(t)
	mustAdd(t, a, "juliet", "r0m30myr0m30")
	mustAdd(t, a, "a,b=c", "pencil")         // needs saslname escaping
	mustAdd(t, a, "nbsp", "pass\u00a0word")  // OpaqueString maps U+00A0 to a space
	mustAdd(t, a, "ünïcode", "\uff21\uff22") // fullwidth letters stay as they are
	tests := []struct {
		name, user, password, gs2, wantUser string
	}{
		{name: "plain", user: "juliet", password: "r0m30myr0m30", wantUser: "juliet"},
		{name: "case mapped username", user: "JULIET", password: "r0m30myr0m30", wantUser: "juliet"},
		{name: "bare JID as username", user: "juliet@example.com", password: "r0m30myr0m30", wantUser: "juliet"},
		{name: "escaped username", user: "a,b=c", password: "pencil", wantUser: "a,b=c"},
		{name: "password prepared", user: "nbsp", password: "pass word", wantUser: "nbsp"},
		{name: "unicode", user: "ÜNÏCODE", password: "\uff21\uff22", wantUser: "ünïcode"},
		{name: "flag y", user: "juliet", password: "r0m30myr0m30", gs2: "y,,", wantUser: "juliet"},
		{name: "authzid own bare JID", user: "juliet", password: "r0m30myr0m30", gs2: "n,a=juliet@example.com,", wantUser: "juliet"},
		{name: "authzid own bare JID unprepared", user: "juliet", password: "r0m30myr0m30", gs2: "y,a=Juliet@EXAMPLE.com,", wantUser: "juliet"},
		{name: "escaped authzid", user: "a,b=c", password: "pencil", gs2: "n,a=a=2Cb=3Dc@example.com,", wantUser: "a,b=c"},
	}
	for _, mech := range []string{MechSCRAMSHA1, MechSCRAMSHA256} {
		h := map[string]*hashAlg{MechSCRAMSHA1: sha1Alg, MechSCRAMSHA256: sha256Alg}[mech]
		for _, tt := range tests {
			t.Run(mech+"/"+tt.name, func(t *testing.T) {
				c := &scramClient{h: h, user: tt.user, password: tt.password, gs2: tt.gs2, cnonce: "clientnonce"}
				n, step, err := exchange(ctx, a, mech, c, nil, nil)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if got := n.Username(); got != tt.wantUser {
					t.Errorf("Username() = %q, want %q", got, tt.wantUser)
				}
				if _, _, err := n.Next(ctx, []byte("c=biws")); !isCondition(err, CondMalformedRequest) {
					t.Errorf("Next after success = %v, want malformed-request", err)
				}
			})
		}
	}
}

func TestSCRAMNoInitialResponse(t *testing.T) {
	ctx := context.Background()
	a, _ := newTestAccounts(t)
	mustAdd(t, a, "juliet", "secret")
	n, err := a.Start(MechSCRAMSHA256, false)
	if err != nil {
		t.Fatal(err)
	}
	ch, done, err := n.Next(ctx, nil)
	if err != nil || done || ch == nil || len(ch) != 0 {
		t.Fatalf("Next(nil) = %q, %v, %v; want empty challenge", ch, done, err)
	}
	c := &scramClient{h: sha256Alg, user: "juliet", password: "secret", cnonce: "abc"}
	sf, _, err := n.Next(ctx, []byte(c.first()))
	if err != nil {
		t.Fatal(err)
	}
	final, err := c.final(string(sf))
	if err != nil {
		t.Fatal(err)
	}
	v, done, err := n.Next(ctx, []byte(final))
	if err != nil || !done {
		t.Fatalf("client-final: %v, %v", done, err)
	}
	if err := c.verify(string(v)); err != nil {
		t.Fatal(err)
	}
}

func isCondition(err error, cond string) bool {
	var f *Failure
	return errors.As(err, &f) && f.Condition == cond
}

func TestSCRAMFailures(t *testing.T) {
	long := strings.Repeat("x", maxMessage+1)
	replace := func(old, new string) func(string) string {
		return func(s string) string { return strings.Replace(s, old, new, 1) }
	}
	set := func(v string) func(string) string { return func(string) string { return v } }
	tests := []struct {
		name      string
		user      string // default "juliet"
		password  string // default the right one
		gs2       string
		editFirst func(string) string
		editFinal func(string) string
		storeErr  bool
		wantStep  int
		wantCond  string
		wantText  string // checked when not empty
	}{
		{name: "wrong password", password: "wrong", wantStep: 2, wantCond: CondNotAuthorized, wantText: "invalid-proof"},
		{name: "unknown user", user: "nobody", wantStep: 2, wantCond: CondNotAuthorized, wantText: "invalid-proof"},
		{name: "user of another domain", user: "juliet@example.org", wantStep: 1, wantCond: CondNotAuthorized},
		{name: "username fails PRECIS", user: "jul iet", wantStep: 1, wantCond: CondNotAuthorized, wantText: "invalid-username-encoding"},
		{name: "username with forbidden character", user: "jul<iet", wantStep: 1, wantCond: CondNotAuthorized},
		{name: "empty client-first", editFirst: set(""), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "oversized client-first", editFirst: set("n,,n=juliet,r=" + long), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "no gs2 header", editFirst: set("n=juliet,r=abc"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "gs2 header without authzid comma", editFirst: set("n,n=juliet"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "unknown gs2 flag", editFirst: replace("n,,", "x,,"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "channel binding required", gs2: "p=tls-unique,,", wantStep: 1, wantCond: CondNotAuthorized, wantText: "channel-binding-not-supported"},
		{name: "empty channel binding name", gs2: "p=,,", wantStep: 1, wantCond: CondMalformedRequest},
		{name: "authzid without a=", gs2: "n,juliet@example.com,", wantStep: 1, wantCond: CondMalformedRequest},
		{name: "authzid bad escape", gs2: "n,a=jul=41iet@example.com,", wantStep: 1, wantCond: CondMalformedRequest},
		{name: "mandatory extension", editFirst: replace("n=juliet", "m=ext,n=juliet"), wantStep: 1, wantCond: CondMalformedRequest, wantText: "extensions-not-supported"},
		{name: "username bad escape", editFirst: replace("n=juliet", "n=jul=2Xiet"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "username truncated escape", editFirst: set("n,,n=juliet=2,r=abc"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "empty username", editFirst: replace("n=juliet", "n="), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "missing nonce", editFirst: set("n,,n=juliet"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "empty nonce", editFirst: set("n,,n=juliet,r="), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "nonce with space", editFirst: set("n,,n=juliet,r=a b"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "attributes out of order", editFirst: set("n,,r=abc,n=juliet"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "bad extension", editFirst: set("n,,n=juliet,r=abc,=x"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "invalid UTF-8", editFirst: set("n,,n=jul\xffiet,r=abc"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "NUL", editFirst: set("n,,n=jul\x00iet,r=abc"), wantStep: 1, wantCond: CondMalformedRequest},
		{name: "storage down", storeErr: true, wantStep: 1, wantCond: CondTemporaryAuthFailure},
		{name: "authzid of another user", gs2: "n,a=romeo@example.com,", wantStep: 2, wantCond: CondInvalidAuthzid},
		{name: "authzid full JID", gs2: "n,a=juliet@example.com/balcony,", wantStep: 2, wantCond: CondInvalidAuthzid},
		{name: "authzid other domain", gs2: "n,a=juliet@example.org,", wantStep: 2, wantCond: CondInvalidAuthzid},
		{name: "authzid not a JID", gs2: "n,a=@@,", wantStep: 2, wantCond: CondInvalidAuthzid},
		{name: "nonce mismatch", editFinal: replace(",r=clientnonce", ",r=clientnoncX"), wantStep: 2, wantCond: CondNotAuthorized},
		{name: "nonce is client part only", editFinal: func(s string) string {
			i, j := strings.Index(s, ",r="), strings.Index(s, ",p=")
			return s[:i] + ",r=clientnonce" + s[j:]
		}, wantStep: 2, wantCond: CondNotAuthorized},
		{name: "channel binding changed y", editFinal: replace("c=biws", "c=eSws"), wantStep: 2, wantCond: CondNotAuthorized, wantText: "channel-bindings-dont-match"},
		{name: "channel binding data added", editFinal: replace("c=biws", "c="+base64.StdEncoding.EncodeToString([]byte("n,,x"))), wantStep: 2, wantCond: CondNotAuthorized, wantText: "channel-bindings-dont-match"},
		{name: "authzid dropped in c=", gs2: "n,a=juliet@example.com,", editFinal: func(s string) string {
			_, rest, _ := strings.Cut(s, ",")
			return "c=biws," + rest
		}, wantStep: 2, wantCond: CondNotAuthorized, wantText: "channel-bindings-dont-match"},
		{name: "channel binding not base64", editFinal: replace("c=biws", "c=b!ws"), wantStep: 2, wantCond: CondMalformedRequest},
		{name: "missing channel binding", editFinal: replace("c=biws,", ""), wantStep: 2, wantCond: CondMalformedRequest},
		{name: "missing proof", editFinal: func(s string) string { return s[:strings.Index(s, ",p=")] }, wantStep: 2, wantCond: CondMalformedRequest},
		{name: "proof not base64", editFinal: func(s string) string { return s[:strings.Index(s, ",p=")] + ",p=***" }, wantStep: 2, wantCond: CondMalformedRequest},
		{name: "proof too short", editFinal: func(s string) string { return s[:strings.Index(s, ",p=")] + ",p=AAAA" }, wantStep: 2, wantCond: CondNotAuthorized, wantText: "invalid-proof"},
		{name: "proof flipped", editFinal: func(s string) string {
			i := strings.Index(s, ",p=") + 3
			p, _ := base64.StdEncoding.DecodeString(s[i:])
			p[0] ^= 1
			return s[:i] + base64.StdEncoding.EncodeToString(p)
		}, wantStep: 2, wantCond: CondNotAuthorized, wantText: "invalid-proof"},
		{name: "mandatory extension in final", editFinal: replace(",p=", ",m=x,p="), wantStep: 2, wantCond: CondMalformedRequest},
		{name: "extension not signed", editFinal: replace(",p=", ",x=y,p="), wantStep: 2, wantCond: CondNotAuthorized, wantText: "invalid-proof"},
		{name: "empty client-final", editFinal: set(""), wantStep: 2, wantCond: CondMalformedRequest},
		{name: "oversized client-final", editFinal: func(s string) string { return strings.Replace(s, ",p=", ",x="+long+",p=", 1) }, wantStep: 2, wantCond: CondMalformedRequest},
	}
	for _, mech := range []string{MechSCRAMSHA1, MechSCRAMSHA256} {
		h := map[string]*hashAlg{MechSCRAMSHA1: sha1Alg, MechSCRAMSHA256: sha256Alg}[mech]
		for _, tt := range tests {
			t.Run(mech+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				a, kv := newTestAccounts(t)
				mustAdd(t, a, "juliet", "r0m30myr0m30")
				mustAdd(t, a, "romeo", "juliet")
				if tt.storeErr {
					kv.setErr(fmt.Errorf("memkv: %w", storage.ErrUnavailable))
				}
				c := &scramClient{h: h, user: "juliet", password: "r0m30myr0m30", gs2: tt.gs2, cnonce: "clientnonce"}
				if tt.user != "" {
					c.user = tt.user
				}
				if tt.password != "" {
					c.password = tt.password
				}
				n, step, err := exchange(ctx, a, mech, c, tt.editFirst, tt.editFinal)
				var f *Failure
				if !errors.As(err, &f) {
					t.Fatalf("step %d: error %v, want a *Failure", step, err)
				}
				if step != tt.wantStep || f.Condition != tt.wantCond {
					t.Fatalf("step %d: %v; want step %d, %s", step, err, tt.wantStep, tt.wantCond)
				}
				if tt.wantText != "" && f.Text != tt.wantText {
					t.Errorf("Text = %q, want %q", f.Text, tt.wantText)
				}
				if tt.storeErr && !errors.Is(err, storage.ErrUnavailable) {
					t.Errorf("error %v does not wrap the storage error", err)
				}
				if n.Username() != "" {
					t.Errorf("Username() = %q after failure", n.Username())
				}
				if _, _, err := n.Next(ctx, []byte("n,,n=juliet,r=abc")); !isCondition(err, CondMalformedRequest) {
					t.Errorf("Next after failure = %v, want malformed-request", err)
				}
			})
		}
	}
}

// TestSCRAMUnknownUserLooksReal checks that the server-first-message for a
// missing user has the shape of a real one, is stable across attempts and
// server restarts, and differs between users and mechanisms.
func TestSCRAMUnknownUserLooksReal(t *testing.T) {
	ctx := context.Background()
	kv := newMemKV()
	first := func(a *Accounts, mech, user string) string {
		t.Helper()
		fixedNonce(a, "S")
		n, err := a.Start(mech, false)
		if err != nil {
			t.Fatal(err)
		}
		sf, _, err := n.Next(ctx, []byte("n,,n="+user+",r=C"))
		if err != nil {
			t.Fatal(err)
		}
		return string(sf)
	}
	a := NewAccounts(kv, testDomain, Config{})
	mustAdd(t, a, "real", "pw")
	real := first(a, MechSCRAMSHA256, "real")
	ghost := first(a, MechSCRAMSHA256, "ghost")
	shape := func(s string) string {
		attrs := strings.Split(s, ",")
		if len(attrs) != 3 {
			return "bad: " + s
		}
		salt, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(attrs[1], "s="))
		if err != nil {
			return "bad salt: " + s
		}
		return fmt.Sprintf("%s salt=%d %s", attrs[0], len(salt), attrs[2])
	}
	if shape(real) != shape(ghost) {
		t.Errorf("unknown user answer %q has another shape than %q", ghost, real)
	}
	if again := first(a, MechSCRAMSHA256, "ghost"); again != ghost {
		t.Errorf("unknown user answer changed: %q then %q", ghost, again)
	}
	restarted := NewAccounts(kv, testDomain, Config{})
	if again := first(restarted, MechSCRAMSHA256, "ghost"); again != ghost {
		t.Errorf("unknown user answer changed across restart: %q then %q", ghost, again)
	}
	if other := first(a, MechSCRAMSHA256, "ghost2"); other == ghost {
		t.Errorf("two unknown users got the same salt %q", other)
	}
	if sha1 := first(a, MechSCRAMSHA1, "ghost"); sha1 == ghost {
		t.Errorf("SCRAM-SHA-1 and SCRAM-SHA-256 got the same salt %q", sha1)
	}
	// A different server secret (another installation) gives other salts.
	other := NewAccounts(newMemKV(), testDomain, Config{})
	if s := first(other, MechSCRAMSHA256, "ghost"); s == ghost {
		t.Errorf("fake salt does not depend on the server secret")
	}
}

func TestSCRAMIterationsConfig(t *testing.T) {
	ctx := context.Background()
	a := NewAccounts(newMemKV(), testDomain, Config{Iterations: 5000})
	mustAdd(t, a, "juliet", "pw")
	for _, user := range []string{"juliet", "ghost"} {
		n, _ := a.Start(MechSCRAMSHA1, false)
		sf, _, err := n.Next(ctx, []byte("n,,n="+user+",r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(sf), ",i=5000") {
			t.Errorf("%s: server-first %q, want i=5000", user, sf)
		}
	}
	c := &scramClient{h: sha1Alg, user: "juliet", password: "pw", cnonce: "n"}
	if _, step, err := exchange(ctx, a, MechSCRAMSHA1, c, nil, nil); err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
}

func TestSCRAMServerSecretUnavailable(t *testing.T) {
	ctx := context.Background()
	a, kv := newTestAccounts(t)
	// The account lookup succeeds (no account), the secret cannot be made.
	kv.mu.Lock()
	kv.m[storage.Key{Kind: kindSecret, User: testDomain}] = []byte("short")
	kv.mu.Unlock()
	n, _ := a.Start(MechSCRAMSHA256, false)
	if _, _, err := n.Next(ctx, []byte("n,,n=ghost,r=abc")); !isCondition(err, CondTemporaryAuthFailure) {
		t.Fatalf("Next = %v, want temporary-auth-failure", err)
	}
}
