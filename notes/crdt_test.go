package notes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/pebble"
)

// crdtNotes is a RekeySource over roster documents in a crdtstore, the
// way the roster package keeps them: one element per contact, the sealed
// note in its "note" field. It shows the contract on the real storage
// path: the rekey is one ordinary CRDT update per user.
// during, if set, runs inside each update, after the read and before the
// write: a concurrent writer's edit lands exactly in the rekey's window.
type crdtNotes struct {
	store  *crdtstore.Store
	during func(user string)
}

func (c crdtNotes) Users(ctx context.Context) ([]string, error) { return c.store.Users(ctx) }

func (c crdtNotes) RewriteNotes(ctx context.Context, user string, f func(owner, contact string, sealed []byte) ([]byte, error)) (int, error) {
	n := 0
	_, err := c.store.Update(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
		n = 0
		for _, contact := range d.Keys() {
			sealed, ok := d.Field(contact, "note")
			if !ok {
				continue
			}
			out, err := f(user, contact, sealed)
			if err != nil {
				return err
			}
			if out != nil {
				d.Set(w, contact, "note", out)
				n++
			}
		}
		if c.during != nil {
			c.during(user)
		}
		return nil
	})
	return n, err
}

// TestRekeyOverCRDTKeepsConcurrentEdits rekeys rosters while a second
// node edits each of them between the rekey's read and its write: no edit
// is lost, and afterwards every note opens under the current key.
func TestRekeyOverCRDTKeepsConcurrentEdits(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rekeyer := crdtstore.New(db.Documents(), "roster", crdt.NewWriter("node-a", crdt.NewHLC(time.Now)), crdt.CompactPolicy{})
	editor := crdtstore.New(db.Documents(), "roster", crdt.NewWriter("node-b", crdt.NewHLC(time.Now)), crdt.CompactPolicy{})

	path := writeKeys(t, line("k1", key128))
	k := load(t, Config{KeyFile: path})
	const users, contacts = 4, 10
	for u := range users {
		user := fmt.Sprintf("u%d@example.com", u)
		if _, err := editor.Update(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
			for c := range contacts {
				contact := fmt.Sprintf("c%d@example.net", c)
				s, err := k.Seal(user, contact, fmt.Appendf(nil, "note %d/%d", u, c))
				if err != nil {
					return err
				}
				d.Set(w, contact, "note", s)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, path, line("k2", key256), line("k1", key128))
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}

	// Another node edits each roster while the rekey holds its read: it
	// adds a contact with a note and renames one.
	edit := func(user string) {
		if _, err := editor.Update(ctx, user, func(d *crdt.Doc, w *crdt.Writer) error {
			s, err := k.Seal(user, "during@example.net", []byte("added during rekey"))
			if err != nil {
				return err
			}
			d.Set(w, "during@example.net", "note", s)
			d.Set(w, "c0@example.net", "name", []byte("renamed during rekey"))
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	st, err := Rekey(ctx, crdtNotes{store: rekeyer, during: edit}, k, discard())
	if err != nil {
		t.Fatal(err)
	}
	if st.Rekeyed != users*contacts || st.Failed != 0 || st.UserErrors != 0 {
		t.Errorf("Rekey stats = %+v, want %d rekeyed and no failures", st, users*contacts)
	}

	for u := range users {
		user := fmt.Sprintf("u%d@example.com", u)
		raw, err := db.Documents().Get(ctx, storage.Key{Kind: "roster", User: user})
		if err != nil {
			t.Fatal(err)
		}
		if len(raw.Siblings) != 2 {
			t.Errorf("%s: %d siblings, want 2: the edit did not race the rekey", user, len(raw.Siblings))
		}
		d, err := rekeyer.Load(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		for _, contact := range d.Keys() {
			s, _ := d.Field(contact, "note")
			if k.NeedsRekey(s) {
				t.Errorf("%s/%s: note still under %v", user, contact, func() string { id, _ := KeyID(s); return id }())
			}
			if _, err := k.Open(user, contact, s); err != nil {
				t.Errorf("%s/%s: %v", user, contact, err)
			}
		}
		if !d.Has("during@example.net") {
			t.Errorf("%s: contact added during the rekey is lost", user)
		}
		if name, _ := d.Field("c0@example.net", "name"); string(name) != "renamed during rekey" {
			t.Errorf("%s: rename made during the rekey is lost (name %q)", user, name)
		}
		if d.Len() != contacts+1 {
			t.Errorf("%s: %d contacts, want %d", user, d.Len(), contacts+1)
		}
	}
}
