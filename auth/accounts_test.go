package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/storage"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "zero value", cfg: Config{}},
		{name: "minimum", cfg: Config{Iterations: 4096}},
		{name: "higher", cfg: Config{Iterations: 100000}},
		{name: "maximum", cfg: Config{Iterations: MaxIterations}},
		{name: "too low", cfg: Config{Iterations: 4095}, wantErr: true},
		{name: "negative", cfg: Config{Iterations: -1}, wantErr: true},
		{name: "too high", cfg: Config{Iterations: MaxIterations + 1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "scram_iterations") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

func TestAddExistsDelete(t *testing.T) {
	ctx := context.Background()
	a, _ := newTestAccounts(t)
	mustAdd(t, a, "Juliet", "pw")
	for _, name := range []string{"juliet", "JULIET", "juliet@example.com", "Juliet@EXAMPLE.COM"} {
		if ok, err := a.Exists(ctx, name); err != nil || !ok {
			t.Errorf("Exists(%q) = %v, %v; want true", name, ok, err)
		}
		if err := a.Add(ctx, name, "other"); !errors.Is(err, ErrExists) {
			t.Errorf("Add(%q) again = %v, want ErrExists", name, err)
		}
	}
	for _, name := range []string{"romeo", "juliet@example.org", "", "a b"} {
		if ok, err := a.Exists(ctx, name); err != nil || ok {
			t.Errorf("Exists(%q) = %v, %v; want false", name, ok, err)
		}
	}
	if err := a.Delete(ctx, "romeo"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("Delete(romeo) = %v, want ErrNoSuchUser", err)
	}
	if err := a.Delete(ctx, "a b"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("Delete(invalid) = %v, want ErrNoSuchUser", err)
	}
	if err := a.Delete(ctx, "JULIET"); err != nil {
		t.Fatalf("Delete(JULIET) = %v", err)
	}
	if ok, _ := a.Exists(ctx, "juliet"); ok {
		t.Error("juliet exists after Delete")
	}
	if err := a.Delete(ctx, "juliet"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("second Delete = %v, want ErrNoSuchUser", err)
	}
	mustAdd(t, a, "juliet", "again")
}

func TestAddInvalid(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, user, password string
	}{
		{name: "empty username", user: "", password: "pw"},
		{name: "space", user: "a b", password: "pw"},
		{name: "other domain", user: "a@example.org", password: "pw"},
		{name: "two ats", user: "a@b@example.com", password: "pw"},
		{name: "slash", user: "a/b", password: "pw"},
		{name: "colon", user: "a:b", password: "pw"},
		{name: "angle", user: "<a>", password: "pw"},
		{name: "quote", user: `a"b`, password: "pw"},
		{name: "control", user: "a\x01b", password: "pw"},
		{name: "invalid UTF-8", user: "a\xffb", password: "pw"},
		{name: "too long", user: strings.Repeat("a", 1024), password: "pw"},
		{name: "empty password", user: "a", password: ""},
		{name: "control in password", user: "a", password: "p\x07w"},
		{name: "invalid UTF-8 password", user: "a", password: "p\xffw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTestAccounts(t)
			if err := a.Add(ctx, tt.user, tt.password); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Add(%q, %q) = %v, want ErrInvalid", tt.user, tt.password, err)
			}
			if users, _ := a.List(ctx); len(users) != 0 {
				t.Errorf("List() = %q after a refused Add", users)
			}
		})
	}
	a, _ := newTestAccounts(t)
	mustAdd(t, a, strings.Repeat("a", 1023), "pw")
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	a, kv := newTestAccounts(t)
	if err := a.SetPassword(ctx, "juliet", "pw"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("SetPassword(unknown) = %v, want ErrNoSuchUser", err)
	}
	mustAdd(t, a, "juliet", "old")
	before, _ := kv.Get(ctx, a.key("juliet"))
	if err := a.SetPassword(ctx, "juliet", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SetPassword(empty) = %v, want ErrInvalid", err)
	}
	if err := a.SetPassword(ctx, "Juliet", "new"); err != nil {
		t.Fatal(err)
	}
	after, _ := kv.Get(ctx, a.key("juliet"))
	rb, _ := decodeRecord(before)
	ra, _ := decodeRecord(after)
	if slices.Equal(rb.SHA256.Salt, ra.SHA256.Salt) || slices.Equal(rb.SHA1.Salt, ra.SHA1.Salt) {
		t.Error("SetPassword kept the old salt")
	}
	if err := plainLogin(a, "juliet", "old"); !isCondition(err, CondNotAuthorized) {
		t.Errorf("old password: %v, want not-authorized", err)
	}
	if err := plainLogin(a, "juliet", "new"); err != nil {
		t.Errorf("new password: %v", err)
	}
	c := &scramClient{h: sha1Alg, user: "juliet", password: "new", cnonce: "x"}
	if _, step, err := exchange(ctx, a, MechSCRAMSHA1, c, nil, nil); err != nil {
		t.Errorf("SCRAM-SHA-1 with new password, step %d: %v", step, err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	kv := newMemKV()
	a := NewAccounts(kv, testDomain, Config{})
	other := NewAccounts(kv, "example.org", Config{})
	if users, err := a.List(ctx); err != nil || len(users) != 0 {
		t.Fatalf("List() on empty store = %q, %v", users, err)
	}
	for _, u := range []string{"b", "a-b", "A", "c.d"} {
		mustAdd(t, a, u, "pw")
	}
	mustAdd(t, other, "zed", "pw")
	// The server secret lives beside the accounts and must not be listed.
	if _, err := a.serverSecret(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := a.List(ctx)
	want := []string{"a", "a-b", "b", "c.d"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("List() = %q, %v; want %q", got, err, want)
	}
	if got, _ := other.List(ctx); !slices.Equal(got, []string{"zed"}) {
		t.Errorf("other domain List() = %q, want [zed]", got)
	}
}

func TestStoredRecord(t *testing.T) {
	ctx := context.Background()
	a, kv := newTestAccounts(t)
	const password = "correct horse battery staple"
	mustAdd(t, a, "juliet", password)
	mustAdd(t, a, "romeo", password)
	b, err := kv.Get(ctx, storage.Key{Kind: "account", User: "juliet@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "horse") {
		t.Fatalf("stored record contains the password: %s", b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("stored record is not JSON: %v", err)
	}
	if string(raw["v"]) != "1" {
		t.Errorf("version = %s, want 1", raw["v"])
	}
	r, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*scramKeys{r.SHA1, r.SHA256} {
		if len(k.Salt) != saltSize || k.Iterations != DefaultIterations {
			t.Errorf("salt %d bytes, %d iterations; want %d, %d", len(k.Salt), k.Iterations, saltSize, DefaultIterations)
		}
	}
	if slices.Equal(r.SHA1.Salt, r.SHA256.Salt) {
		t.Error("SHA-1 and SHA-256 share a salt")
	}
	b2, _ := kv.Get(ctx, a.key("romeo"))
	r2, _ := decodeRecord(b2)
	if slices.Equal(r.SHA256.Salt, r2.SHA256.Salt) || slices.Equal(r.SHA256.StoredKey, r2.SHA256.StoredKey) {
		t.Error("two users with the same password share salt or keys")
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := &record{Version: 1, SHA1: sha1Alg.deriveKeys("pw", []byte("salt"), 4096), SHA256: sha256Alg.deriveKeys("pw", []byte("salt"), 4096)}
	edit := func(f func(r *record)) []byte {
		r := *good
		k1, k256 := *good.SHA1, *good.SHA256
		r.SHA1, r.SHA256 = &k1, &k256
		f(&r)
		b, _ := encodeRecord(&r)
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{name: "not JSON", data: []byte("password123")},
		{name: "future version", data: edit(func(r *record) { r.Version = 2 })},
		{name: "no version", data: edit(func(r *record) { r.Version = 0 })},
		{name: "missing SHA-1", data: edit(func(r *record) { r.SHA1 = nil })},
		{name: "missing SHA-256", data: edit(func(r *record) { r.SHA256 = nil })},
		{name: "empty salt", data: edit(func(r *record) { r.SHA256.Salt = nil })},
		{name: "zero iterations", data: edit(func(r *record) { r.SHA1.Iterations = 0 })},
		{name: "short key", data: edit(func(r *record) { r.SHA256.StoredKey = r.SHA256.StoredKey[:20] })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeRecord(tt.data); err == nil {
				t.Fatalf("decodeRecord(%s) succeeded", tt.data)
			}
			// A corrupt record is a server problem, not the client's:
			// temporary-auth-failure, for every mechanism.
			ctx := context.Background()
			a, kv := newTestAccounts(t)
			if err := kv.Put(ctx, a.key("juliet"), tt.data); err != nil {
				t.Fatal(err)
			}
			if err := plainLogin(a, "juliet", "pw"); !isCondition(err, CondTemporaryAuthFailure) {
				t.Errorf("PLAIN: %v, want temporary-auth-failure", err)
			}
			n, _ := a.Start(MechSCRAMSHA256, false)
			if _, _, err := n.Next(ctx, []byte("n,,n=juliet,r=abc")); !isCondition(err, CondTemporaryAuthFailure) {
				t.Errorf("SCRAM: %v, want temporary-auth-failure", err)
			}
		})
	}
	if _, err := decodeRecord(edit(func(*record) {})); err != nil {
		t.Errorf("decodeRecord(good) = %v", err)
	}
}

func TestStorageErrors(t *testing.T) {
	ctx := context.Background()
	a, kv := newTestAccounts(t)
	mustAdd(t, a, "juliet", "pw")
	down := fmt.Errorf("memkv: %w", storage.ErrUnavailable)
	kv.setErr(down)
	checks := map[string]error{
		"Add":         a.Add(ctx, "romeo", "pw"),
		"SetPassword": a.SetPassword(ctx, "juliet", "pw2"),
		"Delete":      a.Delete(ctx, "juliet"),
	}
	_, checks["Exists"] = a.Exists(ctx, "juliet")
	_, checks["List"] = a.List(ctx)
	for name, err := range checks {
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s = %v, want a wrapped ErrUnavailable", name, err)
		}
		if errors.Is(err, ErrNoSuchUser) || errors.Is(err, ErrExists) {
			t.Errorf("%s = %v, mistaken for an account state", name, err)
		}
	}
}

func TestNewAccountsDomain(t *testing.T) {
	ctx := context.Background()
	kv := newMemKV()
	a := NewAccounts(kv, "Example.COM.", Config{})
	if a.Domain() != "example.com" {
		t.Errorf("Domain() = %q, want example.com", a.Domain())
	}
	mustAdd(t, a, "juliet", "pw")
	if _, err := kv.Get(ctx, storage.Key{Kind: "account", User: "juliet@example.com"}); err != nil {
		t.Errorf("account not stored under the prepared domain: %v", err)
	}
}

// lateKV hides every key of one kind from the first Get, as if another
// node created it between this node's Get and Create.
type lateKV struct {
	*memKV
	kind   string
	hidden bool
}

func (s *lateKV) Get(ctx context.Context, k storage.Key) ([]byte, error) {
	if k.Kind == s.kind && !s.hidden {
		s.hidden = true
		return nil, fmt.Errorf("lateKV: %w", storage.ErrNotFound)
	}
	return s.memKV.Get(ctx, k)
}

func TestServerSecretCreateRace(t *testing.T) {
	ctx := context.Background()
	kv := newMemKV()
	first := NewAccounts(kv, testDomain, Config{})
	want, err := first.serverSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second := NewAccounts(&lateKV{memKV: kv, kind: kindSecret}, testDomain, Config{})
	got, err := second.serverSecret(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("losing the creation race: secret %x, %v; want the winner's %x", got, err, want)
	}
}
