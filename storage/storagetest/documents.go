package storagetest

import (
	"slices"
	"sort"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

func testDocuments(t *testing.T, h Harness) {
	k := storage.Key{Kind: "roster", User: "juliet@example.com"}

	t.Run("Get missing", func(t *testing.T) {
		e := newEnv(t, h)
		doc, err := e.b.Documents().Get(ctx(t), k)
		if err != nil || len(doc.Siblings) != 0 || doc.Context != nil {
			t.Errorf("Get(missing) = %q, context %x, %v; want no siblings, nil context, nil error",
				doc.Siblings, doc.Context, err)
		}
	})

	t.Run("Put creates", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		v := []byte("v1")
		mustDo(t, "Put", d.Put(c, k, nil, v))
		v[0] = 'X' // the backend must have copied it
		doc := wantSiblings(t, d, k, "v1")
		if doc.Context == nil {
			t.Error("Get(existing) returned a nil context")
		}
	})

	t.Run("Put with context replaces", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		mustDo(t, "Put", d.Put(c, k, nil, []byte("v1")))
		doc := wantSiblings(t, d, k, "v1")
		mustDo(t, "Put", d.Put(c, k, doc.Context, []byte("v2")))
		doc = wantSiblings(t, d, k, "v2")
		mustDo(t, "Put", d.Put(c, k, doc.Context, []byte("v3")))
		wantSiblings(t, d, k, "v3")
	})

	t.Run("concurrent writers make siblings", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		mustDo(t, "Put", d.Put(c, k, nil, []byte("base")))
		read := wantSiblings(t, d, k, "base")
		// Two writers start from the same read; neither saw the other.
		mustDo(t, "Put A", d.Put(c, k, read.Context, []byte("A")))
		mustDo(t, "Put B", d.Put(c, k, read.Context, []byte("B")))
		both := wantSiblings(t, d, k, "A", "B")
		// A write whose context saw both collapses them.
		mustDo(t, "Put merged", d.Put(c, k, both.Context, []byte("AB")))
		wantSiblings(t, d, k, "AB")
	})

	t.Run("Put keeps siblings written since its Get", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		mustDo(t, "Put", d.Put(c, k, nil, []byte("base")))
		read := wantSiblings(t, d, k, "base")
		mustDo(t, "Put A", d.Put(c, k, read.Context, []byte("A")))
		mustDo(t, "Put B", d.Put(c, k, read.Context, []byte("B")))
		sawAB := wantSiblings(t, d, k, "A", "B")
		// C writes after that Get without having seen it.
		mustDo(t, "Put C", d.Put(c, k, read.Context, []byte("C")))
		wantSiblings(t, d, k, "A", "B", "C")
		// The merge of A and B replaces A and B only; C stays beside it.
		mustDo(t, "Put merged", d.Put(c, k, sawAB.Context, []byte("AB")))
		wantSiblings(t, d, k, "AB", "C")
	})

	t.Run("nil context on existing key adds a sibling", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		mustDo(t, "Put", d.Put(c, k, nil, []byte("v1")))
		mustDo(t, "Put", d.Put(c, k, nil, []byte("v2")))
		doc := wantSiblings(t, d, k, "v1", "v2")
		mustDo(t, "Put", d.Put(c, k, doc.Context, []byte("v3")))
		wantSiblings(t, d, k, "v3")
	})

	t.Run("returned siblings are copies", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		mustDo(t, "Put", d.Put(c, k, nil, []byte("v1")))
		doc := wantSiblings(t, d, k, "v1")
		doc.Siblings[0][0] = 'X'
		wantSiblings(t, d, k, "v1")
	})

	t.Run("Delete", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		mustDo(t, "Delete missing", d.Delete(c, k))
		mustDo(t, "Put", d.Put(c, k, nil, []byte("v1")))
		mustDo(t, "Put", d.Put(c, k, nil, []byte("v2")))
		mustDo(t, "Delete", d.Delete(c, k))
		doc, err := d.Get(c, k)
		if err != nil || len(doc.Siblings) != 0 || doc.Context != nil {
			t.Errorf("Get after Delete = %q, context %x, %v; want no siblings, nil context",
				doc.Siblings, doc.Context, err)
		}
		mustDo(t, "Put after Delete", d.Put(c, k, nil, []byte("v3")))
		wantSiblings(t, d, k, "v3")
	})

	t.Run("keys are distinct", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		keys := []storage.Key{
			{Kind: "roster", User: "a"},
			{Kind: "roster", User: "ab"},
			{Kind: "rosters", User: "a"},
			{Kind: "privacy", User: "a"},
		}
		for _, key := range keys {
			mustDo(t, "Put", d.Put(c, key, nil, []byte(key.String())))
		}
		for _, key := range keys {
			wantSiblings(t, d, key, key.String())
		}
	})

	t.Run("List", func(t *testing.T) {
		e := newEnv(t, h)
		d, c := e.b.Documents(), ctx(t)
		if users, err := d.List(c, "roster"); err != nil || len(users) != 0 {
			t.Errorf("List(empty store) = %q, %v; want none", users, err)
		}
		for _, u := range listUsers {
			key := storage.Key{Kind: "roster", User: u}
			// Two siblings for some users: still listed once.
			mustDo(t, "Put", d.Put(c, key, nil, []byte("1")))
			mustDo(t, "Put", d.Put(c, key, nil, []byte("2")))
		}
		mustDo(t, "Put", d.Put(c, storage.Key{Kind: "rosters", User: "other"}, nil, []byte("v")))
		mustDo(t, "Put", d.Put(c, storage.Key{Kind: "privacy", User: "other2"}, nil, []byte("v")))
		mustDo(t, "Delete", d.Delete(c, storage.Key{Kind: "roster", User: "a"}))
		want := slices.DeleteFunc(slices.Clone(listUsers), func(u string) bool { return u == "a" })
		sort.Strings(want)
		wantList(t, "Documents.List(roster)", d.List, c, "roster", want)
		wantList(t, "Documents.List(rosters)", d.List, c, "rosters", []string{"other"})
		wantList(t, "Documents.List(privacy)", d.List, c, "privacy", []string{"other2"})
	})
}

// wantSiblings checks that k holds exactly the given siblings, in any
// order, and returns the document read.
func wantSiblings(t *testing.T, d storage.Documents, k storage.Key, want ...string) storage.Document {
	t.Helper()
	doc, err := d.Get(ctx(t), k)
	if err != nil {
		t.Fatalf("Documents.Get(%s): %v", k, err)
	}
	got := make([]string, len(doc.Siblings))
	for i, s := range doc.Siblings {
		got[i] = string(s)
	}
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("Documents.Get(%s) siblings = %q, want %q", k, got, want)
	}
	return doc
}
