package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/crdt"
	"github.com/xmppd/xmppd/crdtstore"
	"github.com/xmppd/xmppd/notes"
	"github.com/xmppd/xmppd/roster"
	"github.com/xmppd/xmppd/storage/pebble"
)

var (
	noteKeyA = mustHex("5f1c0e2a9b73d4e8016c7a3f92b8e4d1a07c3e5b9f2d8146c0e7a3b5d9f1c2e4")
	noteKeyB = mustHex("c3a91e07f25b48d6e1a2b7c4d9e0f358")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func keyLine(id string, key []byte) string { return id + " " + hex.EncodeToString(key) + "\n" }

// noteSetup is a data directory with a note key file and a configuration
// file naming it.
type noteSetup struct {
	dir, keyFile, config string
}

func newNoteSetup(t *testing.T) noteSetup {
	t.Helper()
	dir := t.TempDir()
	s := noteSetup{dir: dir, keyFile: filepath.Join(dir, "keys")}
	s.writeKeys(t, keyLine("a", noteKeyA))
	s.config = writeConfig(t, fmt.Sprintf("[notes]\nkey_file = %q\nkey_env = \"XMPPD_TEST_NO_NOTE_KEYS\"\n", s.keyFile))
	return s
}

func (s noteSetup) writeKeys(t *testing.T, lines ...string) {
	t.Helper()
	if err := os.WriteFile(s.keyFile, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s noteSetup) args(httpAddr string, words ...string) []string {
	return append(words, "--config", s.config, "--data-dir", s.dir, "--http-addr", httpAddr)
}

// keyring loads the keys the key file holds now.
func (s noteSetup) keyring(t *testing.T) *notes.Keyring {
	t.Helper()
	k, err := notes.LoadKeyring(notes.Config{KeyFile: s.keyFile, KeyEnv: "XMPPD_TEST_NO_NOTE_KEYS"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The notes seeded: owner → contact → plaintext.
var seededNotes = map[string]map[string]string{
	"alice@localhost": {"sam@localhost": "duo partner, mains support", "tia@localhost": "owes me a rematch"},
	"sam@localhost":   {"alice@localhost": "plays only ranked"},
}

// seedNotes writes seededNotes into the rosters of the store in db,
// sealed under the key file's current key, as listed contacts.
func seedNotes(t *testing.T, db *pebble.DB, k *notes.Keyring) {
	t.Helper()
	st := crdtstore.New(db.Documents(), roster.Kind, crdt.NewWriter("seed", crdt.NewHLC(time.Now)), crdt.CompactPolicy{})
	for owner, contacts := range seededNotes {
		if _, err := st.Update(context.Background(), owner, func(d *crdt.Doc, w *crdt.Writer) error {
			for contact, note := range contacts {
				sealed, err := k.Seal(owner, contact, []byte(note))
				if err != nil {
					return err
				}
				d.Set(w, contact, "listed", []byte("1"))
				d.Set(w, contact, "sub", []byte("both"))
				d.Set(w, contact, "note", sealed)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// rosterOver returns a roster service over the store in db.
func rosterOver(t *testing.T, db *pebble.DB, k *notes.Keyring) *roster.Service {
	t.Helper()
	r, err := roster.New(roster.Options{
		Store:   crdtstore.New(db.Documents(), roster.Kind, crdt.NewWriter("test", crdt.NewHLC(time.Now)), crdt.CompactPolicy{}),
		Notes:   k,
		Metrics: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkNotesUnder checks that every seeded note opens with k and is
// stored under the key id want. It reads the notes through RewriteNotes
// replacing nothing, which writes nothing: Contacts leaves notes out.
func checkNotesUnder(t *testing.T, r *roster.Service, k *notes.Keyring, want string) {
	t.Helper()
	for owner, contacts := range seededNotes {
		found := 0
		n, err := r.RewriteNotes(context.Background(), owner, func(o, contact string, sealed []byte) ([]byte, error) {
			found++
			if id, err := notes.KeyID(sealed); err != nil || id != want {
				t.Errorf("%s/%s: note under key %q (%v), want %q", o, contact, id, err, want)
			}
			plain, err := k.Open(o, contact, sealed)
			if err != nil || string(plain) != contacts[contact] {
				t.Errorf("%s/%s: note opens as %q, %v; want %q", o, contact, plain, err, contacts[contact])
			}
			return nil, nil
		})
		if err != nil || n != 0 {
			t.Fatalf("reading %s's notes: %d replaced, %v", owner, n, err)
		}
		if found != len(contacts) {
			t.Errorf("%s: %d notes found, want %d", owner, found, len(contacts))
		}
	}
}

func openTestStore(t *testing.T, dir string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, storeDir), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rekeyScript rotates from key a to key b and rekeys twice, then removes
// key a. rekey runs "notes rekey" and returns the invocation.
func rekeyScript(t *testing.T, s noteSetup, rekey func() invocation) {
	t.Helper()
	// Key b added last: still current a, nothing to rekey.
	s.writeKeys(t, keyLine("a", noteKeyA), keyLine("b", noteKeyB))
	if r := rekey(); r.code != 0 || r.stdout != "current key a: 2 users, 0 notes rekeyed, 3 already current, 0 failed verification, 0 user errors\n" {
		t.Fatalf("rekey with a current = %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Key b first: current.
	s.writeKeys(t, keyLine("b", noteKeyB), keyLine("a", noteKeyA))
	if r := rekey(); r.code != 0 || r.stdout != "current key b: 2 users, 3 notes rekeyed, 0 already current, 0 failed verification, 0 user errors\n" {
		t.Fatalf("rekey to b = %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := rekey(); r.code != 0 || r.stdout != "current key b: 2 users, 0 notes rekeyed, 3 already current, 0 failed verification, 0 user errors\n" {
		t.Fatalf("second rekey = %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, out := range []string{hex.EncodeToString(noteKeyA), hex.EncodeToString(noteKeyB)} {
		if r := rekey(); strings.Contains(r.stdout+r.stderr, out) {
			t.Fatalf("rekey output shows key material: %q %q", r.stdout, r.stderr)
		}
	}
	// A key file that does not load: an error naming the line, no key.
	s.writeKeys(t, keyLine("b", noteKeyB), "a "+hex.EncodeToString(noteKeyA)[:10]+"\n")
	r := rekey()
	if r.code != 1 || !strings.Contains(r.stderr, "line 2") || strings.Contains(r.stderr, hex.EncodeToString(noteKeyA)[:10]) {
		t.Fatalf("rekey with a bad key file = %d, stderr %q; want 1 naming line 2 without the key", r.code, r.stderr)
	}
	// Key a removed.
	s.writeKeys(t, keyLine("b", noteKeyB))
	if r := rekey(); r.code != 0 || r.stdout != "current key b: 2 users, 0 notes rekeyed, 3 already current, 0 failed verification, 0 user errors\n" {
		t.Fatalf("rekey without key a = %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestNotesRekeyOnTheStore(t *testing.T) {
	s := newNoteSetup(t)
	db := openTestStore(t, s.dir)
	seedNotes(t, db, s.keyring(t))
	db.Close()
	// A token left by an earlier run, but no server: the store is used.
	if _, err := admin.LoadOrCreateToken(s.dir); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	rekeyScript(t, s, func() invocation { return runCLI(t, "", s.args(addr, "notes", "rekey")...) })

	db = openTestStore(t, s.dir)
	defer db.Close()
	k := s.keyring(t)
	checkNotesUnder(t, rosterOver(t, db, k), k, "b")
}

func TestNotesRekeyThroughTheAPI(t *testing.T) {
	s := newNoteSetup(t)
	token, err := admin.LoadOrCreateToken(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	// A stand-in for the running server: it holds the store, so success
	// proves the API path, and it reloads its keys itself on each rekey.
	db := openTestStore(t, s.dir)
	defer db.Close()
	k := s.keyring(t)
	seedNotes(t, db, k)
	rosters := rosterOver(t, db, k)
	var logs syncBuffer
	api, err := admin.New(admin.Options{
		Domain: "localhost", Token: token, Accounts: fakeAccounts{}, Ready: db,
		Notes: noteRekeyer{keys: k, notes: rosters, log: slog.New(slog.NewTextHandler(&logs, nil))},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	defer ts.Close()
	addr := ts.Listener.Addr().String()

	rekeyScript(t, s, func() invocation { return runCLI(t, "", s.args(addr, "notes", "rekey")...) })
	checkNotesUnder(t, rosters, k, "b")
	got := logs.String()
	for _, want := range []string{"roster-note keys reloaded", "keyring.current=b", "reloading roster-note keys failed; keeping the old ones"} {
		if !strings.Contains(got, want) {
			t.Errorf("server log lacks %q:\n%s", want, got)
		}
	}
	for _, key := range [][]byte{noteKeyA, noteKeyB} {
		if strings.Contains(got, hex.EncodeToString(key)) {
			t.Errorf("server log shows key material:\n%s", got)
		}
	}
}

func TestNotesRekeyServerRunningButAPIUnreachable(t *testing.T) {
	s := newNoteSetup(t)
	db := openTestStore(t, s.dir)
	defer db.Close()
	r := runCLI(t, "", s.args(freeAddr(t), "notes", "rekey")...)
	if r.code != 1 || !strings.Contains(r.stderr, "server running but admin API unreachable") {
		t.Errorf("notes rekey with the store locked and no API = %d %q", r.code, r.stderr)
	}
}

func TestNotesUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"notes"}, "notes needs a subcommand: rekey"},
		{[]string{"notes", "rotate"}, `unknown notes subcommand "rotate"`},
		{[]string{"notes", "rekey", "alice@localhost"}, "notes rekey takes no arguments"},
		{[]string{"notes", "rekey", "--for", "1m"}, "--for and --off are only for debug"},
	} {
		if r := runCLI(t, "", tt.args...); r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("xmppd %q = %d, stderr %q; want 2 containing %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// fakeAccounts is an empty account store: the notes tests need none.
type fakeAccounts struct{}

func (fakeAccounts) Add(context.Context, string, string) error         { return nil }
func (fakeAccounts) SetPassword(context.Context, string, string) error { return nil }
func (fakeAccounts) Delete(context.Context, string) error              { return nil }
func (fakeAccounts) Exists(context.Context, string) (bool, error)      { return false, nil }
func (fakeAccounts) List(context.Context) ([]string, error)            { return nil, nil }
