package notes

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/hkdf"
)

// Test keys, in the two encodings and both sizes.
var (
	key128 = mustHex("000102030405060708090a0b0c0d0e0f")
	key256 = mustHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	keyB   = mustHex("f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// noEnv is a key variable no test sets, so the developer's environment
// cannot leak into a test.
const noEnv = "XMPPD_NOTES_TEST_UNSET"

// writeKeys writes a key file of lines into a fresh directory.
func writeKeys(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func line(id string, key []byte) string { return id + " " + hex.EncodeToString(key) }

func load(t *testing.T, cfg Config, opts ...Option) *Keyring {
	t.Helper()
	if cfg.KeyEnv == "" {
		cfg.KeyEnv = noEnv
	}
	k, err := LoadKeyring(cfg, opts...)
	if err != nil {
		t.Fatalf("LoadKeyring(%+v) = %v", cfg, err)
	}
	return k
}

const (
	owner   = "juliet@example.com"
	contact = "romeo@example.net"
)

func TestRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte("Versatile dude, plays only ranked. "), 30)[:1024]
	tests := []struct {
		name  string
		entry string
		bits  int
		note  []byte
	}{
		{name: "aes-128 hex", entry: line("k1", key128), bits: 128, note: []byte("plays only ranked")},
		{name: "aes-256 hex", entry: line("k1", key256), bits: 256, note: []byte("plays only ranked")},
		{name: "aes-128 base64", entry: "k1 " + base64.StdEncoding.EncodeToString(key128), bits: 128, note: long},
		{name: "aes-256 raw url base64", entry: "k1 " + base64.RawURLEncoding.EncodeToString(key256), bits: 256, note: long},
		{name: "empty note", entry: line("k1", key256), bits: 256, note: []byte{}},
		{name: "utf-8 note", entry: line("k1", key128), bits: 128, note: []byte("ne joue qu'en classé — 排位")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := load(t, Config{KeyFile: writeKeys(t, tt.entry)})
			if got := k.set.Load().current.bits; got != tt.bits {
				t.Fatalf("key size = %d bits, want %d", got, tt.bits)
			}
			sealed, err := k.Seal(owner, contact, tt.note)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(tt.note) + 50 + len("k1"); len(sealed) != want {
				t.Errorf("len(sealed) = %d, want %d", len(sealed), want)
			}
			got, err := k.Open(owner, contact, sealed)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if !bytes.Equal(got, tt.note) {
				t.Errorf("Open = %q, want %q", got, tt.note)
			}
			again, _ := k.Seal(owner, contact, tt.note)
			if bytes.Equal(again, sealed) {
				t.Error("two seals of one note are equal: the IV is not fresh")
			}
		})
	}
}

func TestStoredBytesHoldNoPlaintext(t *testing.T) {
	for _, key := range [][]byte{key128, key256} {
		k := load(t, Config{KeyFile: writeKeys(t, line("k1", key))})
		note := []byte(strings.Repeat("Versatile dude, plays only ranked, not a big fan of ARAMs. ", 17)[:1000])
		sealed, err := k.Seal(owner, contact, note)
		if err != nil {
			t.Fatal(err)
		}
		const window = 6
		for i := 0; i+window <= len(note); i++ {
			if bytes.Contains(sealed, note[i:i+window]) {
				t.Fatalf("AES-%d: sealed note contains plaintext %q", len(key)*8, note[i:i+window])
			}
		}
		for _, s := range []string{owner, contact, hex.EncodeToString(key)} {
			if bytes.Contains(sealed, []byte(s)) {
				t.Errorf("sealed note contains %q", s)
			}
		}
	}
}

func TestTamperEveryByte(t *testing.T) {
	// Two keys whose ids differ in one byte, so a changed id can also
	// name a configured key.
	k := load(t, Config{KeyFile: writeKeys(t, line("k1", key256), line("k2", keyB))})
	sealed, err := k.Seal(owner, contact, []byte("a secret note about romeo"))
	if err != nil {
		t.Fatal(err)
	}
	idEnd := 2 + len("k1")
	region := func(i int) (string, []error) {
		switch {
		case i == 0:
			return "version", []error{ErrMalformed}
		case i == 1:
			return "key id length", []error{ErrMalformed, ErrUnknownKey}
		case i < idEnd:
			return "key id", []error{ErrMalformed, ErrUnknownKey, ErrTampered}
		case i < idEnd+ivLen:
			return "IV", []error{ErrTampered}
		case i < len(sealed)-tagLen:
			return "ciphertext", []error{ErrTampered}
		default:
			return "MAC", []error{ErrTampered}
		}
	}
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80, 0xff, '1' ^ '2'} {
			bad := bytes.Clone(sealed)
			bad[i] ^= flip
			name, want := region(i)
			got, err := k.Open(owner, contact, bad)
			if got != nil {
				t.Fatalf("byte %d (%s) ^ %#x: Open returned %q", i, name, flip, got)
			}
			if !isOneOf(err, want) {
				t.Errorf("byte %d (%s) ^ %#x: Open = %v, want one of %v", i, name, flip, err, want)
			}
		}
	}
	// The id "k1" changed into the configured "k2" must fail the MAC.
	bad := bytes.Clone(sealed)
	bad[3] = '2'
	if _, err := k.Open(owner, contact, bad); !errors.Is(err, ErrTampered) {
		t.Errorf("key id k1 → k2: Open = %v, want ErrTampered", err)
	}
	for _, n := range []int{0, 1, 2, idEnd, minSealed - 1, len(sealed) - 1} {
		if _, err := k.Open(owner, contact, sealed[:n]); !isOneOf(err, []error{ErrMalformed, ErrTampered}) {
			t.Errorf("truncated to %d bytes: Open = %v, want ErrMalformed or ErrTampered", n, err)
		}
	}
	if _, err := k.Open(owner, contact, append(bytes.Clone(sealed), 0)); !errors.Is(err, ErrTampered) {
		t.Errorf("one byte appended: Open = %v, want ErrTampered", err)
	}
}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func TestMovedNoteIsRejected(t *testing.T) {
	k := load(t, Config{KeyFile: writeKeys(t, line("k1", key128))})
	tests := []struct {
		name             string
		sealOwner, sealC string
		openOwner, openC string
	}{
		{name: "other contact", sealOwner: owner, sealC: contact, openOwner: owner, openC: "tybalt@example.net"},
		{name: "other owner", sealOwner: owner, sealC: contact, openOwner: "nurse@example.com", openC: contact},
		{name: "owner and contact swapped", sealOwner: owner, sealC: contact, openOwner: contact, openC: owner},
		{name: "boundary shifted", sealOwner: "ab@x", sealC: "c@y", openOwner: "ab@xc", openC: "@y"},
		{name: "boundary shifted to empty", sealOwner: "a", sealC: "b", openOwner: "ab", openC: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := k.Seal(tt.sealOwner, tt.sealC, []byte("note"))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.Open(tt.openOwner, tt.openC, sealed); !errors.Is(err, ErrTampered) || got != nil {
				t.Errorf("Open(%q, %q) = %q, %v, want ErrTampered", tt.openOwner, tt.openC, got, err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	path := writeKeys(t, line("k1", key128))
	k := load(t, Config{KeyFile: path})
	old, err := k.Seal(owner, contact, []byte("old note"))
	if err != nil {
		t.Fatal(err)
	}
	// Add k2 last: it opens but is not current yet.
	if err := os.WriteFile(path, []byte(line("k1", key128)+"\n"+line("k2", key256)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := k.CurrentID(); got != "k1" {
		t.Fatalf("CurrentID = %q after adding k2 last, want k1", got)
	}
	// Make k2 current.
	if err := os.WriteFile(path, []byte(line("k2", key256)+"\n"+line("k1", key128)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := k.CurrentID(); got != "k2" {
		t.Fatalf("CurrentID = %q, want k2", got)
	}
	if got, err := k.Open(owner, contact, old); err != nil || string(got) != "old note" {
		t.Errorf("Open(old) = %q, %v after rotation", got, err)
	}
	fresh, err := k.Seal(owner, contact, []byte("new note"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyID(fresh); id != "k2" {
		t.Errorf("new note sealed under %q, want k2", id)
	}
	if !k.NeedsRekey(old) {
		t.Error("NeedsRekey(old) = false, want true")
	}
	if k.NeedsRekey(fresh) {
		t.Error("NeedsRekey(fresh) = true, want false")
	}
	if k.NeedsRekey([]byte("garbage")) {
		t.Error("NeedsRekey(garbage) = true, want false")
	}
	if got := k.IDs(); fmt.Sprint(got) != "[k2 k1]" {
		t.Errorf("IDs = %v, want [k2 k1]", got)
	}
	// A failed reload keeps the keys.
	if err := os.WriteFile(path, []byte("k2 nonsense\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err == nil {
		t.Fatal("Reload of a broken file succeeded")
	}
	if _, err := k.Open(owner, contact, old); err != nil {
		t.Errorf("Open(old) after failed reload = %v", err)
	}
}

func TestCurrentKeyOverride(t *testing.T) {
	path := writeKeys(t, line("k1", key128), line("k2", key256))
	k := load(t, Config{KeyFile: path, Current: "k2"})
	if got := k.CurrentID(); got != "k2" {
		t.Fatalf("CurrentID = %q, want k2", got)
	}
	if _, err := LoadKeyring(Config{KeyFile: path, KeyEnv: noEnv, Current: "k3"}); err == nil || !strings.Contains(err.Error(), "k3") {
		t.Errorf("LoadKeyring with current_key k3 = %v, want an error naming k3", err)
	}
}

func TestUnknownKey(t *testing.T) {
	k1 := load(t, Config{KeyFile: writeKeys(t, line("k1", key128))})
	k2 := load(t, Config{KeyFile: writeKeys(t, line("other", key128))})
	sealed, err := k1.Seal(owner, contact, []byte("note"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(owner, contact, sealed); !errors.Is(err, ErrUnknownKey) || got != nil {
		t.Errorf("Open under a keyring without k1 = %q, %v, want ErrUnknownKey", got, err)
	}
	// Same id, different key: the MAC cannot verify.
	k3 := load(t, Config{KeyFile: writeKeys(t, line("k1", keyB))})
	if _, err := k3.Open(owner, contact, sealed); !errors.Is(err, ErrTampered) {
		t.Errorf("Open under another key with the same id = %v, want ErrTampered", err)
	}
}

func TestKeyFileErrors(t *testing.T) {
	secret := hex.EncodeToString(key256)
	tests := []struct {
		name    string
		lines   []string
		cfg     Config
		want    []string // substrings of the error
		wantErr error
	}{
		{name: "three fields", lines: []string{"# keys", "", "k1 " + secret + " extra"}, want: []string{"line 3", "3 fields"}},
		{name: "one field", lines: []string{line("k1", key128), secret}, want: []string{"line 2", "1 fields"}},
		{name: "bad id", lines: []string{"k/1 " + secret}, want: []string{"line 1", `"k/1"`}},
		{name: "not hex or base64", lines: []string{line("k1", key128), "k2 " + secret[:63] + "!"}, want: []string{"line 2", `"k2"`, "neither hex nor base64"}},
		{name: "24-byte key", lines: []string{"k1 " + base64.StdEncoding.EncodeToString(keyB[:24])}, want: []string{"line 1", "24 bytes"}},
		{name: "short hex", lines: []string{"k1 " + secret[:40]}, want: []string{"line 1", "30 bytes"}},
		{name: "all-zero key", lines: []string{"k1 " + strings.Repeat("00", 32)}, want: []string{"line 1", "all bytes are equal"}},
		{name: "id reused with another key", lines: []string{line("k1", key128), line("k1", key256)}, want: []string{"line 2", "different key"}},
		{name: "only comments", lines: []string{"# nothing", ""}, wantErr: ErrNoKeys},
		{name: "bad current_key", lines: []string{line("k1", key128)}, cfg: Config{Current: "no such!"}, want: []string{"notes.current_key"}},
		{name: "bad key_env", lines: []string{line("k1", key128)}, cfg: Config{KeyEnv: "1BAD"}, want: []string{"notes.key_env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.KeyFile = writeKeys(t, tt.lines...)
			if cfg.KeyEnv == "" {
				cfg.KeyEnv = noEnv
			}
			_, err := LoadKeyring(cfg)
			if err == nil {
				t.Fatal("LoadKeyring succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("LoadKeyring = %v, want %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadKeyring = %q, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret[:16]) {
				t.Errorf("error %q shows key material", err)
			}
		})
	}
	if _, err := LoadKeyring(Config{KeyFile: filepath.Join(t.TempDir(), "absent"), KeyEnv: noEnv}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: %v, want ErrNotExist", err)
	}
	if _, err := LoadKeyring(Config{KeyEnv: noEnv}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("nothing configured: %v, want ErrNoKeys", err)
	}
}

func TestDuplicateLineWithSameKey(t *testing.T) {
	k := load(t, Config{KeyFile: writeKeys(t, line("k1", key128), line("k1", key128), line("k2", key256))})
	if got := fmt.Sprint(k.IDs()); got != "[k1 k2]" {
		t.Errorf("IDs = %s, want [k1 k2]", got)
	}
}

func TestEnvironmentKeys(t *testing.T) {
	const env = "XMPPD_NOTES_TEST_KEYS"
	t.Setenv(env, line("e1", key128)+"; "+"e2 "+base64.StdEncoding.EncodeToString(key256))
	k := load(t, Config{KeyEnv: env})
	if got := fmt.Sprint(k.IDs()); got != "[e1 e2]" {
		t.Errorf("IDs = %s, want [e1 e2]", got)
	}
	// With a key file too, the file's first key is current.
	k = load(t, Config{KeyEnv: env, KeyFile: writeKeys(t, line("f1", keyB))})
	if got := fmt.Sprint(k.IDs()); got != "[f1 e1 e2]" {
		t.Errorf("IDs = %s, want [f1 e1 e2]", got)
	}
	t.Setenv(env, line("e1", key128)+";;e2 zz")
	if _, err := LoadKeyring(Config{KeyEnv: env}); err == nil || !strings.Contains(err.Error(), "$"+env+" entry 3") {
		t.Errorf("bad environment entry: %v, want it to name entry 3", err)
	}
}

// TestNoKeyMaterialInOutput prints the keyring, its keys and its errors
// every way a log line might, and looks for the configured keys and the
// derived subkeys in the result.
func TestNoKeyMaterialInOutput(t *testing.T) {
	path := writeKeys(t, line("k1", key128), "k2 "+base64.StdEncoding.EncodeToString(key256))
	k := load(t, Config{KeyFile: path})
	var secrets []string
	for _, raw := range [][]byte{key128, key256} {
		dk, err := deriveKey("x", raw)
		if err != nil {
			t.Fatal(err)
		}
		enc := make([]byte, len(raw))
		if _, err := io.ReadFull(hkdf.New(sha256.New, raw, nil, []byte(infoEnc)), enc); err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{raw, dk.macKey[:], enc} {
			secrets = append(secrets, hex.EncodeToString(b), base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b), fmt.Sprint(b), fmt.Sprintf("%q", b))
		}
		for _, kk := range k.set.Load().byID {
			secrets = append(secrets, fmt.Sprint(kk.macKey[:]), fmt.Sprintf("%x", kk.macKey[:]))
		}
	}
	sealed, _ := k.Seal(owner, contact, []byte("note"))
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	_, errTampered := k.Open(owner, contact, bad)
	_, errParse := LoadKeyring(Config{KeyFile: writeKeys(t, "k1 "+hex.EncodeToString(key256)+"00"), KeyEnv: noEnv})

	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		fmt.Fprintf(&out, verb+"\n", k)
		fmt.Fprintf(&out, verb+"\n", k.set.Load())
		fmt.Fprintf(&out, verb+"\n", k.set.Load().current)
		fmt.Fprintf(&out, verb+"\n", errTampered)
		fmt.Fprintf(&out, verb+"\n", errParse)
	}
	out.WriteString(fmt.Sprint(k, errTampered, errParse))
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "keyring", k, "err", errTampered)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "keyring", k, "err", errParse)
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Fatalf("output shows key material %q:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), "k1") || !strings.Contains(out.String(), "k2") {
		t.Errorf("output does not name the key ids:\n%s", out.String())
	}
}

func TestConcurrentUse(t *testing.T) {
	path := writeKeys(t, line("k1", key128), line("k2", key256))
	k := load(t, Config{KeyFile: path})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			c := fmt.Sprintf("c%d@example.net", g)
			for i := range 200 {
				note := fmt.Appendf(nil, "note %d of %d", i, g)
				s, err := k.Seal(owner, c, note)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := k.Open(owner, c, s); err != nil || !bytes.Equal(got, note) {
					t.Errorf("Open = %q, %v, want %q", got, err, note)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			if err := k.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

func writeFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeFileF writes content for fuzz targets and benchmarks.
func writeFileF(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// TestStoredFormat rebuilds a sealed note from the package comment's
// description alone — HKDF subkeys, AES-CTR, HMAC over length-prefixed
// parts — and checks that seal produces exactly those bytes, so the stored
// format cannot drift unnoticed.
func TestStoredFormat(t *testing.T) {
	k := load(t, Config{KeyFile: writeKeys(t, line("2026-02", key256))})
	iv := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	note := []byte("Versatile dude")
	got := seal(k.set.Load().current, iv, owner, contact, note)

	sub := func(info string, n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(hkdf.New(sha256.New, key256, nil, []byte(info)), b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	block, err := aes.NewCipher(sub("xmppd notes v1 aes-ctr", 32))
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(note))
	cipher.NewCTR(block, iv[:]).XORKeyStream(ct, note)
	mac := hmac.New(sha256.New, sub("xmppd notes v1 hmac-sha256", 32))
	for _, p := range [][]byte{{1}, []byte("2026-02"), iv[:], ct, []byte(owner), []byte(contact)} {
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(len(p)))
		mac.Write(l[:])
		mac.Write(p)
	}
	want := append([]byte{1, 7}, "2026-02"...)
	want = append(want, iv[:]...)
	want = append(want, ct...)
	want = mac.Sum(want)
	if !bytes.Equal(got, want) {
		t.Fatalf("seal =\n%x, want\n%x", got, want)
	}
	if plain, err := k.Open(owner, contact, got); err != nil || !bytes.Equal(plain, note) {
		t.Errorf("Open = %q, %v", plain, err)
	}
}
