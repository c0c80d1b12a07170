package roster

import (
	"context"
	"fmt"
	"testing"

	"mellium.im/xmpp/jid"
)

// BenchmarkLoginWith50MutualContacts logs users in (roster get, initial
// presence with its probes and broadcast) while every user has 50 mutual
// contacts, half of them online, and reports storage reads per login.
func BenchmarkLoginWith50MutualContacts(b *testing.B) {
	const users, contacts = 400, 50
	h := newHarness(b, nil)
	ctx := context.Background()
	name := func(i int) string { return fmt.Sprintf("u%d@localhost", (i+users)%users) }
	for i := range users {
		_, err := h.svc.store.Update(ctx, name(i), func(doc *crdtDoc, w *crdtWriter) error {
			for k := 1; k <= contacts/2; k++ {
				for _, c := range []string{name(i + k), name(i - k)} {
					writeItem(doc, w, Item{JID: c}, Item{JID: c, Listed: true, State: State{To: true, From: true}})
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Every other user is online.
	for i := 0; i < users; i += 2 {
		r := h.bind(name(i) + "/home")
		h.online(r)
	}
	reads0 := h.docs.gets.Load()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		i := 2*(n%(users/2)) + 1 // an offline user
		n++
		r := &fakeRes{j: jid.MustParse(name(i) + "/bench")}
		h.dir.Bind(r)
		if _, err := h.iq(r, "get", fmt.Sprintf(q, "")); err != nil {
			b.Fatal(err)
		}
		h.online(r)
		if got := len(r.take()); got < contacts/2 {
			b.Fatalf("login of %s saw %d presences, want %d", name(i), got, contacts/2)
		}
		// Log out again, as the core would.
		h.dir.Unbind(r)
		r.last.Store(nil)
		h.svc.presence(ctx, h.e, r, stanzaUnavailable(r.j.String()))
		h.svc.sessions.Delete(r)
	}
	b.ReportMetric(float64(h.docs.gets.Load()-reads0)/float64(n), "reads/login")
}
