package notes

import (
	"bytes"
	"testing"
)

func benchKeyring(b *testing.B, key []byte) *Keyring {
	path := b.TempDir() + "/keys"
	writeFileF(b, path, line("k1", key)+"\n")
	k, err := LoadKeyring(Config{KeyFile: path, KeyEnv: noEnv})
	if err != nil {
		b.Fatal(err)
	}
	return k
}

var note1K = bytes.Repeat([]byte("Versatile dude, plays only ranked. "), 30)[:1024]

func BenchmarkSeal1K(b *testing.B) {
	for _, kb := range []struct {
		name string
		key  []byte
	}{{"aes128", key128}, {"aes256", key256}} {
		b.Run(kb.name, func(b *testing.B) {
			k := benchKeyring(b, kb.key)
			b.ReportAllocs()
			b.SetBytes(int64(len(note1K)))
			for b.Loop() {
				if _, err := k.Seal(owner, contact, note1K); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen1K(b *testing.B) {
	for _, kb := range []struct {
		name string
		key  []byte
	}{{"aes128", key128}, {"aes256", key256}} {
		b.Run(kb.name, func(b *testing.B) {
			k := benchKeyring(b, kb.key)
			sealed, err := k.Seal(owner, contact, note1K)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(note1K)))
			for b.Loop() {
				if _, err := k.Open(owner, contact, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
