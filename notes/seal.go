package notes

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Layout of the stored form; see the package comment.
const (
	version1 = 1
	ivLen    = 16
	tagLen   = sha256.Size
	// minSealed is the shortest sealed note: a one-byte key id and an
	// empty note.
	minSealed = 2 + 1 + ivLen + tagLen
)

// Seal encrypts plaintext under the current key for the roster item of
// owner whose contact is contact. owner and contact must be the normalised
// bare JIDs the caller will pass to Open: the MAC covers them. Every call
// draws a fresh IV, so sealing one note twice gives different bytes. The
// result does not alias plaintext.
func (k *Keyring) Seal(owner, contact string, plaintext []byte) ([]byte, error) {
	var iv [ivLen]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return nil, fmt.Errorf("notes: seal: %w", err)
	}
	out := seal(k.set.Load().current, iv, owner, contact, plaintext)
	k.metrics.sealed()
	return out, nil
}

// seal builds the stored form of plaintext under key with the given IV.
func seal(key *key, iv [ivLen]byte, owner, contact string, plaintext []byte) []byte {
	out := make([]byte, 2+len(key.id)+ivLen+len(plaintext)+tagLen)
	out[0] = version1
	out[1] = byte(len(key.id))
	n := 2 + copy(out[2:], key.id)
	n += copy(out[n:], iv[:])
	ct := out[n : n+len(plaintext)]
	cipher.NewCTR(key.block, iv[:]).XORKeyStream(ct, plaintext)
	m := key.mac()
	copy(out[len(out)-tagLen:], m.tag(key.id, iv[:], ct, owner, contact))
	key.macs.Put(m)
	return out
}

// Open verifies sealed as a note of owner's roster item for contact and
// returns the plaintext. It returns an error wrapping ErrMalformed,
// ErrUnknownKey or ErrTampered — and no plaintext — unless the bytes are
// exactly what Seal produced under a configured key for the same owner and
// contact. The MAC is checked, in constant time, before anything is
// decrypted. The result does not alias sealed.
//
// Open counts failures by reason in the keyring's metrics but does not log
// them: the caller logs the returned error once, with its own context, and
// treats the note as absent.
func (k *Keyring) Open(owner, contact string, sealed []byte) ([]byte, error) {
	id, iv, ct, mac, err := parse(sealed)
	if err != nil {
		k.metrics.failed(reasonMalformed)
		return nil, err
	}
	key, ok := k.set.Load().byID[id]
	if !ok {
		k.metrics.failed(reasonUnknownKey)
		return nil, fmt.Errorf("notes: open: key %q: %w", id, ErrUnknownKey)
	}
	if !verify(key, mac, id, iv, ct, owner, contact) {
		k.metrics.failed(reasonTampered)
		return nil, fmt.Errorf("notes: open: key %q: %w", id, ErrTampered)
	}
	plain := make([]byte, len(ct))
	cipher.NewCTR(key.block, iv).XORKeyStream(plain, ct)
	k.metrics.opened()
	return plain, nil
}

// NeedsRekey reports whether sealed names a key other than the current
// one. It does not verify the note; for bytes that are not a sealed note
// at all it reports false, since re-sealing cannot help them (Open reports
// what is wrong).
func (k *Keyring) NeedsRekey(sealed []byte) bool {
	id, _, _, _, err := parse(sealed)
	return err == nil && id != k.set.Load().current.id
}

// KeyID returns the id of the key sealed names, without verifying it.
func KeyID(sealed []byte) (string, error) {
	id, _, _, _, err := parse(sealed)
	return id, err
}

// parse splits a version-1 sealed note into its parts, which alias sealed.
func parse(sealed []byte) (id string, iv, ct, mac []byte, err error) {
	if len(sealed) < minSealed {
		return "", nil, nil, nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrMalformed, len(sealed), minSealed)
	}
	if sealed[0] != version1 {
		return "", nil, nil, nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, sealed[0])
	}
	n := int(sealed[1])
	if n < 1 || n > maxKeyID || len(sealed) < 2+n+ivLen+tagLen {
		return "", nil, nil, nil, fmt.Errorf("%w: bad key id length %d", ErrMalformed, n)
	}
	id = string(sealed[2 : 2+n])
	if !validKeyID.MatchString(id) {
		return "", nil, nil, nil, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	rest := sealed[2+n:]
	return id, rest[:ivLen], rest[ivLen : len(rest)-tagLen], rest[len(rest)-tagLen:], nil
}

// A macState is one reusable HMAC computation of a key, with scratch
// space, so that sealing and opening allocate only their result.
type macState struct {
	h       hash.Hash
	scratch []byte
	sum     [tagLen]byte
}

// verify reports, in constant time, whether mac is the tag of the other
// arguments under key.
func verify(key *key, mac []byte, id string, iv, ct []byte, owner, contact string) bool {
	m := key.mac()
	ok := hmac.Equal(mac, m.tag(id, iv, ct, owner, contact))
	key.macs.Put(m)
	return ok
}

// mac returns a macState of key from its pool; put it back when done.
func (k *key) mac() *macState {
	if m, ok := k.macs.Get().(*macState); ok {
		return m
	}
	return &macState{h: hmac.New(sha256.New, k.macKey[:])}
}

// tag computes the HMAC over the length-prefixed version, key id, IV,
// ciphertext, owner and contact. The result is valid until m is reused.
func (m *macState) tag(id string, iv, ct []byte, owner, contact string) []byte {
	m.h.Reset()
	b := m.scratch[:0]
	b = part(b, []byte{version1})
	b = part(b, []byte(id))
	b = part(b, iv)
	m.h.Write(b)
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(ct)))
	b = append(b[:0], l[:]...)
	m.h.Write(b)
	m.h.Write(ct)
	b = part(b[:0], []byte(owner))
	b = part(b, []byte(contact))
	m.h.Write(b)
	m.scratch = b
	return m.h.Sum(m.sum[:0])
}

// part appends p to b as an 8-byte big-endian length and the bytes.
func part(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
	return append(b, p...)
}
