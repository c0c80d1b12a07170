package integration

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Note keys of the rotation test: random, fixed so that a failure can be
// reproduced. Key a is AES-256, key b AES-128.
const (
	noteKeyA = "5f1c0e2a9b73d4e8016c7a3f92b8e4d1a07c3e5b9f2d8146c0e7a3b5d9f1c2e4"
	noteKeyB = "c3a91e07f25b48d6e1a2b7c4d9e0f358"
)

// TestNoteKeyRotationOnARunningServer rotates the roster-note key of a
// running server the way docs/config.md says: notes set under key a, key b
// made current by editing the key file and sending SIGHUP, xmppd notes
// rekey, key a removed. Between the steps slixmpp reads the notes back,
// and the rekey's own counts show under which key they are stored.
func TestNoteKeyRotationOnARunningServer(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "note-keys")
	writeKeys := func(lines ...string) {
		t.Helper()
		if err := os.WriteFile(keyFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeKeys("a " + noteKeyA)
	s := startServer(t, serverOptions{
		config: fmt.Sprintf("[notes]\nkey_file = %q\nkey_env = \"XMPPD_INTEGRATION_NO_NOTE_KEYS\"\n", keyFile),
		users:  map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"},
	})
	// sighup sends SIGHUP and waits until the server has logged the
	// outcome of the note key reload that followed.
	sighup := func(outcome string) {
		t.Helper()
		before := strings.Count(s.log.String(), outcome)
		if err := syscall.Kill(s.cmd.Process.Pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(s.log.String(), outcome) == before {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log within 10s of SIGHUP", outcome)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const reloaded, reloadFailed = "roster-note keys reloaded", "reloading roster-note keys failed; keeping the old ones"
	// rekey runs xmppd notes rekey; the server holds the store, so it goes
	// through the admin API.
	rekey := func(want string) {
		t.Helper()
		if got := strings.TrimSpace(s.ctl("notes", "rekey")); got != want {
			t.Fatalf("xmppd notes rekey printed %q, want %q", got, want)
		}
	}

	s.runSlixmpp("notes_rekey.py", "set")
	rekey("current key a: 1 users, 0 notes rekeyed, 2 already current, 0 failed verification, 0 user errors")

	// Key b added last, then moved first: new notes are sealed under it,
	// the old ones still read back.
	writeKeys("a "+noteKeyA, "b "+noteKeyB)
	sighup(reloaded)
	if !strings.Contains(s.log.String(), `keyring.current=a keyring.keys="[a b]"`) {
		t.Errorf("reload with key b last does not log current a and keys [a b]")
	}
	writeKeys("b "+noteKeyB, "a "+noteKeyA)
	sighup(reloaded)
	if !strings.Contains(s.log.String(), `keyring.current=b keyring.keys="[b a]"`) {
		t.Errorf("reload with key b first does not log current b and keys [b a]")
	}
	s.runSlixmpp("notes_rekey.py", "check", "2")
	s.runSlixmpp("notes_rekey.py", "add")

	// The rekey re-seals the two notes of key a; dave's is already under b.
	rekey("current key b: 1 users, 2 notes rekeyed, 1 already current, 0 failed verification, 0 user errors")
	rekey("current key b: 1 users, 0 notes rekeyed, 3 already current, 0 failed verification, 0 user errors")
	s.runSlixmpp("notes_rekey.py", "check", "3")

	// A key file that does not load keeps the keys in force, on SIGHUP
	// and on a rekey.
	writeKeys("b "+noteKeyB, "a "+noteKeyA[:20])
	sighup(reloadFailed)
	out, err := s.ctlErr("notes", "rekey")
	if err == nil || !strings.Contains(out, "previous keys stay in force") || !strings.Contains(out, "HTTP 422") {
		t.Errorf("rekey with a bad key file: %v, %q; want a 422 failure", err, out)
	}
	s.runSlixmpp("notes_rekey.py", "check", "3")

	// Key a removed: every note still reads back, none fails.
	writeKeys("b " + noteKeyB)
	sighup(reloaded)
	s.runSlixmpp("notes_rekey.py", "check", "3")
	rekey("current key b: 1 users, 0 notes rekeyed, 3 already current, 0 failed verification, 0 user errors")

	// A read-scope token may not rekey.
	added := strings.Fields(s.ctl("token", "add", "store", "--scope", "read"))
	readTok := added[len(added)-1] // after the notice on stderr
	if code, body := apiCall(t, s, readTok, "POST", "/api/v1/notes/rekey", ""); code != 403 {
		t.Errorf("rekey with a read token = %d %s, want 403", code, body)
	}

	log := s.log.String()
	for _, key := range []string{noteKeyA, noteKeyB, noteKeyA[:20]} {
		if strings.Contains(log, key) {
			t.Errorf("the server log shows key material")
		}
	}
	for _, note := range []string{"duo partner", "owes me a rematch", "added after the new key"} {
		if strings.Contains(log, note) || strings.Contains(log, hex.EncodeToString([]byte(note))) {
			t.Errorf("the server log shows the note %q", note)
		}
	}
}
