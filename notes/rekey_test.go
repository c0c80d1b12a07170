package notes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// memNotes is a RekeySource over a map: user → contact → sealed note.
// RewriteNotes applies replacements only if f succeeds for every note, as
// the contract asks.
type memNotes struct {
	mu      sync.Mutex
	notes   map[string]map[string][]byte
	failFor map[string]error // RewriteNotes of these users fails
	calls   int
}

func (m *memNotes) Users(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.notes)), nil
}

func (m *memNotes) RewriteNotes(ctx context.Context, user string, f func(owner, contact string, sealed []byte) ([]byte, error)) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if err := m.failFor[user]; err != nil {
		return 0, err
	}
	repl := map[string][]byte{}
	for _, c := range slices.Sorted(maps.Keys(m.notes[user])) {
		out, err := f(user, c, m.notes[user][c])
		if err != nil {
			return 0, err
		}
		if out != nil {
			repl[c] = out
		}
	}
	maps.Copy(m.notes[user], repl)
	return len(repl), nil
}

func (m *memNotes) put(t *testing.T, k *Keyring, user, contact, note string) {
	t.Helper()
	s, err := k.Seal(user, contact, []byte(note))
	if err != nil {
		t.Fatal(err)
	}
	if m.notes == nil {
		m.notes = map[string]map[string][]byte{}
	}
	if m.notes[user] == nil {
		m.notes[user] = map[string][]byte{}
	}
	m.notes[user][contact] = s
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRekey(t *testing.T) {
	path := writeKeys(t, line("k1", key128))
	m := NewMetrics(newRegistry())
	k := load(t, Config{KeyFile: path}, WithMetrics(m))
	src := &memNotes{}
	for u := range 3 {
		for c := range 4 {
			src.put(t, k, fmt.Sprintf("u%d@example.com", u), fmt.Sprintf("c%d@example.net", c), fmt.Sprintf("note %d/%d", u, c))
		}
	}
	writeFile(t, path, line("k2", key256), line("k1", key128))
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	// Two notes written after the rotation, one tampered note.
	src.put(t, k, "u0@example.com", "new1@example.net", "fresh 1")
	src.put(t, k, "u1@example.com", "new2@example.net", "fresh 2")
	src.notes["u2@example.com"]["c3@example.net"][10] ^= 1
	tampered := bytes.Clone(src.notes["u2@example.com"]["c3@example.net"])

	var logs bytes.Buffer
	st, err := Rekey(context.Background(), src, k, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("Rekey = %v", err)
	}
	want := Stats{Users: 3, Rekeyed: 11, Current: 2, Failed: 1}
	if st != want {
		t.Errorf("Rekey stats = %+v, want %+v", st, want)
	}
	if !strings.Contains(logs.String(), "c3@example.net") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the tampered note was not logged as an error:\n%s", logs.String())
	}
	if got := counterValue(t, m.rekeyedTotal); got != 11 {
		t.Errorf("xmppd_notes_rekeyed_total = %v, want 11", got)
	}
	if !bytes.Equal(src.notes["u2@example.com"]["c3@example.net"], tampered) {
		t.Error("Rekey changed a note that failed verification")
	}
	for u, notes := range src.notes {
		for c, s := range notes {
			if u == "u2@example.com" && c == "c3@example.net" {
				continue
			}
			if k.NeedsRekey(s) {
				t.Errorf("%s/%s still needs a rekey", u, c)
			}
			if _, err := k.Open(u, c, s); err != nil {
				t.Errorf("Open(%s, %s) after rekey = %v", u, c, err)
			}
		}
	}
	// With k1 gone, every rekeyed note still opens.
	writeFile(t, path, line("k2", key256))
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open("u1@example.com", "c2@example.net", src.notes["u1@example.com"]["c2@example.net"]); err != nil || string(got) != "note 1/2" {
		t.Errorf("Open after removing k1 = %q, %v", got, err)
	}
	// A second run only verifies.
	st, err = Rekey(context.Background(), src, k, discard())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Users: 3, Current: 13, Failed: 1}); st != want {
		t.Errorf("second Rekey stats = %+v, want %+v", st, want)
	}
}

func TestRekeyUserErrorGoesOn(t *testing.T) {
	path := writeKeys(t, line("k1", key128))
	k := load(t, Config{KeyFile: path})
	src := &memNotes{}
	for _, u := range []string{"a@x", "b@x", "c@x"} {
		src.put(t, k, u, "c@y", "note of "+u)
	}
	writeFile(t, path, line("k2", key256), line("k1", key128))
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("storage unavailable")
	src.failFor = map[string]error{"b@x": boom}
	st, err := Rekey(context.Background(), src, k, discard())
	if !errors.Is(err, boom) {
		t.Errorf("Rekey = %v, want it to wrap %v", err, boom)
	}
	if want := (Stats{Users: 2, Rekeyed: 2, UserErrors: 1}); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if !k.NeedsRekey(src.notes["b@x"]["c@y"]) || k.NeedsRekey(src.notes["c@x"]["c@y"]) {
		t.Error("the failing user's note changed, or the next user's did not")
	}
}

func TestRekeyStopsWhenCancelled(t *testing.T) {
	k := load(t, Config{KeyFile: writeKeys(t, line("k1", key128))})
	src := &memNotes{}
	for u := range 5 {
		src.put(t, k, fmt.Sprintf("u%d@x", u), "c@y", "n")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Rekey(ctx, src, k, discard()); !errors.Is(err, context.Canceled) {
		t.Errorf("Rekey on a cancelled context = %v, want context.Canceled", err)
	}
	if src.calls != 0 {
		t.Errorf("RewriteNotes called %d times after cancel", src.calls)
	}
}
