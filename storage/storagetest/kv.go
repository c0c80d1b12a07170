package storagetest

import (
	"bytes"
	"errors"
	"slices"
	"sort"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

func testKV(t *testing.T, h Harness) {
	k := storage.Key{Kind: "account", User: "juliet@example.com"}

	t.Run("Get missing", func(t *testing.T) {
		e := newEnv(t, h)
		if v, err := e.b.KV().Get(ctx(t), k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(missing) = %q, %v; want ErrNotFound", v, err)
		}
	})

	t.Run("Put Get replace", func(t *testing.T) {
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		v := []byte("first")
		mustDo(t, "Put", kv.Put(c, k, v))
		v[0] = 'X' // the backend must have copied it
		wantKV(t, kv, k, "first")
		mustDo(t, "Put", kv.Put(c, k, []byte("second")))
		wantKV(t, kv, k, "second")
		got, _ := kv.Get(c, k)
		if len(got) > 0 {
			got[0] = 'X' // must not change what is stored
		}
		wantKV(t, kv, k, "second")
	})

	t.Run("empty value", func(t *testing.T) {
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		mustDo(t, "Put", kv.Put(c, k, []byte{}))
		wantKV(t, kv, k, "")
		if err := kv.Create(c, k, []byte("x")); !errors.Is(err, storage.ErrExists) {
			t.Errorf("Create over an empty value = %v, want ErrExists", err)
		}
	})

	t.Run("Create", func(t *testing.T) {
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		mustDo(t, "Create", kv.Create(c, k, []byte("one")))
		wantKV(t, kv, k, "one")
		if err := kv.Create(c, k, []byte("two")); !errors.Is(err, storage.ErrExists) {
			t.Errorf("Create(existing) = %v, want ErrExists", err)
		}
		wantKV(t, kv, k, "one")
		mustDo(t, "Delete", kv.Delete(c, k))
		mustDo(t, "Create after Delete", kv.Create(c, k, []byte("three")))
		wantKV(t, kv, k, "three")
	})

	t.Run("Delete", func(t *testing.T) {
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		if err := kv.Delete(c, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
		}
		mustDo(t, "Put", kv.Put(c, k, []byte("v")))
		mustDo(t, "Delete", kv.Delete(c, k))
		if v, err := kv.Get(c, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after Delete = %q, %v; want ErrNotFound", v, err)
		}
		if err := kv.Delete(c, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second Delete = %v, want ErrNotFound", err)
		}
	})

	t.Run("keys are distinct", func(t *testing.T) {
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		keys := []storage.Key{
			{Kind: "account", User: "a"},
			{Kind: "account", User: "ab"},
			{Kind: "accounts", User: "b"},
			{Kind: "acc", User: "ount/b"},
			{Kind: "settings", User: "a"},
		}
		for _, key := range keys {
			mustDo(t, "Put", kv.Put(c, key, []byte(key.String())))
		}
		for _, key := range keys {
			wantKV(t, kv, key, key.String())
		}
	})

	t.Run("List", func(t *testing.T) {
		e := newEnv(t, h)
		kv, c := e.b.KV(), ctx(t)
		if users, err := kv.List(c, "account"); err != nil || len(users) != 0 {
			t.Errorf("List(empty store) = %q, %v; want none", users, err)
		}
		for _, u := range listUsers {
			mustDo(t, "Put", kv.Put(c, storage.Key{Kind: "account", User: u}, []byte("v")))
		}
		// Neighbouring kinds that share a prefix must not leak in.
		mustDo(t, "Put", kv.Put(c, storage.Key{Kind: "accounts", User: "other"}, []byte("v")))
		mustDo(t, "Put", kv.Put(c, storage.Key{Kind: "acc", User: "other2"}, []byte("v")))
		mustDo(t, "Delete", kv.Delete(c, storage.Key{Kind: "account", User: "a"}))
		want := slices.DeleteFunc(slices.Clone(listUsers), func(u string) bool { return u == "a" })
		sort.Strings(want)
		wantList(t, "KV.List(account)", kv.List, c, "account", want)
		wantList(t, "KV.List(accounts)", kv.List, c, "accounts", []string{"other"})
		wantList(t, "KV.List(acc)", kv.List, c, "acc", []string{"other2"})
	})
}

func wantKV(t *testing.T, kv storage.KV, k storage.Key, want string) {
	t.Helper()
	got, err := kv.Get(ctx(t), k)
	if err != nil || !bytes.Equal(got, []byte(want)) {
		t.Errorf("KV.Get(%s) = %q, %v; want %q", k, got, err, want)
	}
}
