package crdt_test

import (
	"fmt"
	"time"

	"github.com/xmppd/xmppd/crdt"
)

// The read-modify-write loop a feature runs against storage.Documents:
// merge the siblings, change, compact, encode, put back with the context.
func Example() {
	w := crdt.NewWriter("node1", crdt.NewHLC(nil))

	// Two nodes wrote concurrently: the store returned two siblings.
	a, b := crdt.New(), crdt.New()
	a.Set(w, "juliet@example.com", "name", []byte("Juliet"))
	b.Set(crdt.NewWriter("node2", crdt.NewHLC(nil)), "nurse@example.com", "subscription", []byte("both"))
	siblings := [][]byte{a.Encode(), b.Encode()}

	doc, err := crdt.Load(siblings)
	if err != nil {
		fmt.Println("load:", err)
		return
	}
	doc.Set(w, "juliet@example.com", "note", []byte("plays only ranked"))
	doc.Remove(w, "nurse@example.com")
	doc.Compact(crdt.CompactPolicy{}, time.Now())
	value := doc.Encode() // Put(ctx, key, causalContextOfTheGet, value)

	again, _ := crdt.Decode(value)
	for _, k := range again.Keys() {
		fields, _ := again.Get(k)
		fmt.Printf("%s name=%s note=%s\n", k, fields["name"], fields["note"])
	}
	// Output: juliet@example.com name=Juliet note=plays only ranked
}
