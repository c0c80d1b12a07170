package notes

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds Open arbitrary bytes and JIDs. It must never panic, and
// it may only succeed on exactly the bytes Seal produced for that owner and
// contact: anything else the fuzzer derives from them is a forgery.
func FuzzOpen(f *testing.F) {
	k, err := LoadKeyring(Config{KeyEnv: "XMPPD_NOTES_FUZZ", KeyFile: fuzzKeyFile(f)})
	if err != nil {
		f.Fatal(err)
	}
	type sealedNote struct {
		owner, contact string
		sealed         []byte
	}
	// Fixed IVs: the fuzzing workers run this setup too and must agree
	// on which bytes are genuine.
	var valid []sealedNote
	for i, n := range []struct{ owner, contact, note string }{
		{owner, contact, "plays only ranked"},
		{"a@b", "c@d", ""},
		{"", "", "x"},
	} {
		s := seal(k.set.Load().byID[[]string{"k1", "k2", "k1"}[i]], [ivLen]byte{byte(i), 42}, n.owner, n.contact, []byte(n.note))
		valid = append(valid, sealedNote{n.owner, n.contact, s})
		f.Add(n.owner, n.contact, s)
	}
	f.Add(owner, contact, []byte{})
	f.Add(owner, contact, []byte{1, 64})
	f.Add(owner, contact, []byte{1, 2, 'k', '1'})
	f.Fuzz(func(t *testing.T, o, c string, sealed []byte) {
		plain, err := k.Open(o, c, sealed)
		k.NeedsRekey(sealed)
		KeyID(sealed)
		if err != nil {
			if plain != nil {
				t.Fatalf("Open returned %q with error %v", plain, err)
			}
			return
		}
		for _, v := range valid {
			if v.owner == o && v.contact == c && bytes.Equal(v.sealed, sealed) {
				return
			}
		}
		t.Fatalf("Open(%q, %q, %x) verified bytes Seal never produced", o, c, sealed)
	})
}

func fuzzKeyFile(f *testing.F) string {
	dir := f.TempDir()
	path := dir + "/keys"
	writeFileF(f, path, line("k1", key256)+"\n"+line("k2", key128)+"\n")
	return path
}
