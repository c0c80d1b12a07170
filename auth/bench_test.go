package auth

import (
	"context"
	"testing"
)

// BenchmarkSCRAMExchange measures one full SCRAM exchange, client and
// server, the way a reconnecting client does it: the client caches its
// SaltedPassword (the salt does not change), so the cost is the server's
// storage lookup, parsing and HMACs plus the client's HMACs.
func BenchmarkSCRAMExchange(b *testing.B) {
	for _, mech := range []string{MechSCRAMSHA1, MechSCRAMSHA256} {
		b.Run(mech, func(b *testing.B) {
			ctx := context.Background()
			a, _ := newTestAccounts(b)
			mustAdd(b, a, "juliet", "r0m30myr0m30")
			h := map[string]*hashAlg{MechSCRAMSHA1: sha1Alg, MechSCRAMSHA256: sha256Alg}[mech]
			c := &scramClient{h: h, user: "juliet", password: "r0m30myr0m30", cnonce: "fyko+d2lbbFgONRv9qkxdawL"}
			b.ReportAllocs()
			for b.Loop() {
				if _, step, err := exchange(ctx, a, mech, c, nil, nil); err != nil {
					b.Fatalf("step %d: %v", step, err)
				}
			}
		})
	}
}

// BenchmarkSCRAMExchangeColdClient includes the client's PBKDF2 (4096
// iterations), the cost of a first login.
func BenchmarkSCRAMExchangeColdClient(b *testing.B) {
	ctx := context.Background()
	a, _ := newTestAccounts(b)
	mustAdd(b, a, "juliet", "r0m30myr0m30")
	b.ReportAllocs()
	for b.Loop() {
		c := &scramClient{h: sha256Alg, user: "juliet", password: "r0m30myr0m30", cnonce: "fyko+d2lbbFgONRv9qkxdawL"}
		if _, step, err := exchange(ctx, a, MechSCRAMSHA256, c, nil, nil); err != nil {
			b.Fatalf("step %d: %v", step, err)
		}
	}
}

// BenchmarkPLAIN measures a PLAIN login: the server derives the
// SCRAM-SHA-256 key (PBKDF2, 4096 iterations) on every attempt.
func BenchmarkPLAIN(b *testing.B) {
	a, _ := newTestAccounts(b)
	mustAdd(b, a, "juliet", "r0m30myr0m30")
	b.ReportAllocs()
	for b.Loop() {
		if err := plainLogin(a, "juliet", "r0m30myr0m30"); err != nil {
			b.Fatal(err)
		}
	}
}
